// /moderation/<participantId>: the moderator's page. The queue is the default view; a
// session opens with `#session=<sessionId>` in the hash, so reload and back keep it.
import { participantFromPath, safeDecode } from '../lib/page-route.ts';

export { moderationPath } from '../../shared/moderation.ts';

/** The participant id in a /moderation/<id> path, or null for any other path. */
export function moderationParticipantFromPath(pathname: string): string | null {
  return participantFromPath(pathname, 'moderation');
}

/** The session named in a `#session=<id>` hash, or null (the queue). */
export function sessionFromHash(hash: string): string | null {
  const match = /^#?session=([^&]{1,100})$/.exec(hash);
  return match?.[1] ? safeDecode(match[1]) : null;
}

export function sessionHash(sessionId: string): string {
  return `#session=${encodeURIComponent(sessionId)}`;
}

/** The hash of the queue view (any hash without a session shows the queue). */
export const QUEUE_HASH = '#queue';
