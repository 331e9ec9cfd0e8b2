// The moderation page's calls. Every call names the participant it acts as
// (`?participantId=`) and proves it with that participant's cookie (same origin).
import { ParticipantApi, type ApiResult } from '../lib/participant-api.ts';
import type {
  ChangeMark,
  DecideReview,
  ModerationStatus,
  ModerationView,
  OpenReview,
  QueueRow,
  SamplingRule,
  SignOff,
} from '../../shared/moderation.ts';

export interface QueueFilters {
  from: string;
  to: string;
  status: ModerationStatus | '';
  sampledOnly: boolean;
}

export const NO_FILTERS: QueueFilters = { from: '', to: '', status: '', sampledOnly: false };

const session = (sessionId: string): string => `/moderation/sessions/${encodeURIComponent(sessionId)}`;

export class ModerationApi extends ParticipantApi {
  queue(filters: QueueFilters): Promise<ApiResult<QueueRow[]>> {
    const q = new URLSearchParams();
    if (filters.from) q.set('from', filters.from);
    if (filters.to) q.set('to', filters.to);
    if (filters.status) q.set('status', filters.status);
    if (filters.sampledOnly) q.set('sampledOnly', 'true');
    const query = q.toString();
    return this.get<QueueRow[]>(`/moderation/queue${query ? `?${query}` : ''}`);
  }

  sampling(): Promise<ApiResult<SamplingRule>> {
    return this.get<SamplingRule>('/moderation/sampling');
  }

  saveSampling(rule: SamplingRule): Promise<ApiResult<SamplingRule>> {
    return this.put<SamplingRule>('/moderation/sampling', rule);
  }

  view(sessionId: string): Promise<ApiResult<ModerationView>> {
    return this.get<ModerationView>(session(sessionId));
  }

  changeMark(sessionId: string, body: ChangeMark): Promise<ApiResult<ModerationView>> {
    return this.post<ModerationView>(`${session(sessionId)}/marks`, body);
  }

  signOff(sessionId: string, body: SignOff): Promise<ApiResult<ModerationView>> {
    return this.post<ModerationView>(`${session(sessionId)}/sign-off`, body);
  }

  openReview(sessionId: string, body: OpenReview): Promise<ApiResult<ModerationView>> {
    return this.post<ModerationView>(`${session(sessionId)}/reviews`, body);
  }

  decideReview(sessionId: string, reviewId: string, body: DecideReview): Promise<ApiResult<ModerationView>> {
    return this.post<ModerationView>(`${session(sessionId)}/reviews/${encodeURIComponent(reviewId)}/decision`, body);
  }
}
