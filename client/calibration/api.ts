// The calibration page's calls (as one participant, like every page: see lib/participant-api.ts).
import type { CalibrationAttemptInput, CalibrationCaseSummary, CalibrationCaseView, CalibrationResult, CalibrationSource } from '../../shared/calibration.ts';
import { ParticipantApi, type ApiResult } from '../lib/participant-api.ts';

export class CalibrationApi extends ParticipantApi {
  cases(): Promise<ApiResult<CalibrationCaseSummary[]>> {
    return this.get<CalibrationCaseSummary[]>('/calibration/cases');
  }

  case(caseId: string): Promise<ApiResult<CalibrationCaseView>> {
    return this.get<CalibrationCaseView>(`/calibration/cases/${encodeURIComponent(caseId)}`);
  }

  submit(caseId: string, attempt: CalibrationAttemptInput): Promise<ApiResult<CalibrationResult>> {
    return this.post<CalibrationResult>(`/calibration/cases/${encodeURIComponent(caseId)}/attempt`, attempt);
  }

  sources(): Promise<ApiResult<CalibrationSource[]>> {
    return this.get<CalibrationSource[]>('/calibration/sources');
  }

  createCase(sessionId: string, scenario: number): Promise<ApiResult<{ id: string }>> {
    return this.post<{ id: string }>('/calibration/cases', { sessionId, scenario, consent: { candidate: true, actor: true } });
  }

  /** One of the case's recordings (range requests: usable as <video src>). */
  mediaUrl(caseId: string, recordingId: string): string {
    return this.url(`/calibration/cases/${encodeURIComponent(caseId)}/recordings/${encodeURIComponent(recordingId)}/media`);
  }
}
