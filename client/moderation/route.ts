// /moderation/<participantId>: the moderator's page. The queue is the default view; a
// session opens with `#session=<sessionId>` in the hash, so reload and back keep it.
import type { ScenarioKey } from '../../shared/rubric.ts';

export { moderationPath } from '../../shared/moderation.ts';

/** The participant id in a /moderation/<id> path, or null for any other path. */
export function moderationParticipantFromPath(pathname: string): string | null {
  const match = /^\/moderation\/([^/]{1,64})\/?$/.exec(pathname);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** The session named in a `#session=<id>` hash, or null (the queue). */
export function sessionFromHash(hash: string): string | null {
  const match = /^#?session=([^&]{1,100})$/.exec(hash);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

export function sessionHash(sessionId: string): string {
  return `#session=${encodeURIComponent(sessionId)}`;
}

/** The hash of the queue view (any hash without a session shows the queue). */
export const QUEUE_HASH = '#queue';

/** The playback page at one moment of one part of a session's recordings. */
export function playbackAt(participantId: string, sessionId: string, scenario: ScenarioKey, atMs: number): string {
  const q = new URLSearchParams({ session: sessionId, scenario: String(scenario), at: String(Math.max(0, Math.round(atMs))) });
  return `/playback/${encodeURIComponent(participantId)}?${q.toString()}`;
}
