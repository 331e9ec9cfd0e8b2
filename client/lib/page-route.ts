// The participant a page is for: every page's address is /<page>/<participantId>.
export type PageName = 'room' | 'studio' | 'playback' | 'moderation' | 'analytics' | 'calibration';

/** The participant id in a /<page>/<id> path, or null for any other path. */
export function participantFromPath(pathname: string, page: PageName): string | null {
  const match = new RegExp(`^/${page}/([^/]{1,64})/?$`).exec(pathname);
  return match?.[1] ? safeDecode(match[1]) : null;
}

/** decodeURIComponent that answers null for malformed input instead of throwing. */
export function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
