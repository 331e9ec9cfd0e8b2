// /playback/<participantId>: recordings of the signed-in participant's session, with the
// observers' evidence notes on a timeline. Only for observers, moderators and coordinators.

/** The participant id in a /playback/<id> path, or null for any other path. */
export function playbackParticipantFromPath(pathname: string): string | null {
  const match = /^\/playback\/([^/]{1,64})\/?$/.exec(pathname);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

export function playbackPath(participantId: string): string {
  return `/playback/${encodeURIComponent(participantId)}`;
}
