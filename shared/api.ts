// HTTP API shapes shared by server and client.
import type { Role } from './roles.ts';

export interface HealthResponse {
  status: 'ok' | 'degraded';
  version: string;
  mediasoup: { workers: number; pids: number[] };
  db: 'ok' | 'error';
}

/** Who the browser is signed in as, for one participant of one session. */
export interface MeResponse {
  participantId: string;
  sessionId: string;
  sessionTitle: string;
  displayName: string;
  role: Role;
}

export type ApiErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'INVALID_REQUEST' | 'CONFLICT' | 'INTERNAL';

export interface ApiError {
  error: { code: ApiErrorCode; message: string };
}

/** Name of the cookie that holds one participant's session (one per participant, so that
 *  several invites can be open in tabs of the same browser). */
export function sessionCookieName(participantId: string): string {
  return `simstudio_p_${participantId}`;
}

export function roomPath(participantId: string): string {
  return `/room/${participantId}`;
}
