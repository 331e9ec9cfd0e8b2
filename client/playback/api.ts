// The playback page's calls: who is signed in, the session's recordings and its evidence
// notes. Every call names the participant it acts as (`?participantId=`) and proves it with
// that participant's cookie (same origin).
import { ParticipantApi, type ApiResult } from '../lib/participant-api.ts';
import type { EvidenceNoteView, RecordingsResponse } from '../../shared/api.ts';

export type { RecordingsResponse };

export type Fetched<T> = ApiResult<T>;

export class PlaybackApi extends ParticipantApi {
  /** The address of one segment's WebM (streamed with range requests: usable as <video src>). */
  mediaUrl(recordingId: string): string {
    return this.url(`/recordings/${encodeURIComponent(recordingId)}/media`);
  }

  recordings(sessionId: string): Promise<Fetched<RecordingsResponse>> {
    return this.get<RecordingsResponse>(`/sessions/${encodeURIComponent(sessionId)}/recordings`);
  }

  notes(sessionId: string): Promise<Fetched<EvidenceNoteView[]>> {
    return this.get<EvidenceNoteView[]>(`/sessions/${encodeURIComponent(sessionId)}/evidence-notes`);
  }
}
