// /studio/<participantId>: the coordinator's studio.

/** The participant id in a /studio/<id> path, or null for any other path. */
export function studioParticipantFromPath(pathname: string): string | null {
  const match = /^\/studio\/([^/]{1,64})\/?$/.exec(pathname);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

export { studioPath } from '../../shared/api.ts';
