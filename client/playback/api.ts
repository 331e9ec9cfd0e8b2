// The playback page's calls: who is signed in, the session's recordings and its evidence
// notes. Every call names the participant it acts as (`?participantId=`) and proves it with
// that participant's cookie (same origin).
import type { ApiError, MeResponse } from '../../shared/api.ts';
import type { RecordingStatus } from '../../shared/protocol.ts';
import type { PlaybackNote, PlaybackPerson, PlaybackRecording } from './timeline.ts';

export type Fetched<T> = { ok: true; data: T } | { ok: false; status: number; message: string };

export interface RecordingsResponse {
  status: RecordingStatus;
  recordings: PlaybackRecording[];
  /** Who the recorded people are (older servers may leave this out). */
  people?: PlaybackPerson[];
}

export class PlaybackApi {
  readonly participantId: string;

  constructor(participantId: string) {
    this.participantId = participantId;
  }

  url(path: string): string {
    const sep = path.includes('?') ? '&' : '?';
    return `/api${path}${sep}participantId=${encodeURIComponent(this.participantId)}`;
  }

  /** The address of one segment's WebM (streamed with range requests: usable as <video src>). */
  mediaUrl(recordingId: string): string {
    return this.url(`/recordings/${encodeURIComponent(recordingId)}/media`);
  }

  me(): Promise<Fetched<MeResponse>> {
    return this.#get<MeResponse>('/me');
  }

  recordings(sessionId: string): Promise<Fetched<RecordingsResponse>> {
    return this.#get<RecordingsResponse>(`/sessions/${encodeURIComponent(sessionId)}/recordings`);
  }

  notes(sessionId: string): Promise<Fetched<PlaybackNote[]>> {
    return this.#get<PlaybackNote[]>(`/sessions/${encodeURIComponent(sessionId)}/evidence-notes`);
  }

  async #get<T>(path: string): Promise<Fetched<T>> {
    let response: Response;
    try {
      response = await fetch(this.url(path), { credentials: 'same-origin', headers: { accept: 'application/json' } });
    } catch {
      return { ok: false, status: 0, message: 'Could not reach SimStudio. Check your internet connection and try again.' };
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as ApiError | null;
      return { ok: false, status: response.status, message: body?.error?.message ?? `The server answered ${response.status}.` };
    }
    try {
      return { ok: true, data: (await response.json()) as T };
    } catch {
      return { ok: false, status: response.status, message: 'The server sent an answer this page could not read.' };
    }
  }
}
