// The analytics page's calls (as one participant, like every page: see lib/participant-api.ts).
import type { AdoptedCut, AngoffPanelView, AnalyticsFilter, CohortAnalytics, OwnStringency, TemplateChoice } from '../../shared/analytics.ts';
import { ParticipantApi, type ApiResult } from '../lib/participant-api.ts';

export type Range = Pick<AnalyticsFilter, 'from' | 'to'>;

function query(range: Range): string {
  const q = new URLSearchParams();
  if (range.from) q.set('from', range.from);
  if (range.to) q.set('to', range.to);
  const text = q.toString();
  return text ? `?${text}` : '';
}

export class AnalyticsApi extends ParticipantApi {
  cohort(range: Range): Promise<ApiResult<CohortAnalytics>> {
    return this.get<CohortAnalytics>(`/analytics/cohort${query(range)}`);
  }

  ownStringency(): Promise<ApiResult<OwnStringency>> {
    return this.get<OwnStringency>('/analytics/my-stringency');
  }

  templates(): Promise<ApiResult<TemplateChoice[]>> {
    return this.get<TemplateChoice[]>('/analytics/templates');
  }

  adoptCut(templateId: string, range: Range): Promise<ApiResult<AdoptedCut>> {
    return this.post<AdoptedCut>('/analytics/adopt-cut', { templateId, ...(range.from ? { from: range.from } : {}), ...(range.to ? { to: range.to } : {}) });
  }

  adoptAngoffCut(templateId: string): Promise<ApiResult<AdoptedCut>> {
    return this.post<AdoptedCut>('/analytics/adopt-cut', { templateId, method: 'angoff' });
  }

  angoff(templateId: string): Promise<ApiResult<AngoffPanelView>> {
    return this.get<AngoffPanelView>(`/analytics/angoff?templateId=${encodeURIComponent(templateId)}`);
  }

  saveAngoff(templateId: string, estimates: Record<string, number>): Promise<ApiResult<{ saved: number }>> {
    return this.put<{ saved: number }>('/analytics/angoff', { templateId, estimates });
  }

  /** The cohort report as PDF, for a download link. */
  pdfUrl(range: Range): string {
    return this.url(`/analytics/cohort.pdf${query(range)}`);
  }

  /** A panel's table as CSV, for a download link. */
  csvUrl(table: string, range: Range): string {
    const q = query(range);
    return this.url(`/analytics/cohort.csv${q ? `${q}&` : '?'}table=${encodeURIComponent(table)}`);
  }
}
