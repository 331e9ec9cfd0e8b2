// /playback/<participantId>: recordings of the signed-in participant's session, with the
// observers' evidence notes on a timeline. Only for observers, moderators and coordinators.
import { participantFromPath } from '../lib/page-route.ts';

/** The participant id in a /playback/<id> path, or null for any other path. */
export function playbackParticipantFromPath(pathname: string): string | null {
  return participantFromPath(pathname, 'playback');
}

export function playbackPath(participantId: string): string {
  return `/playback/${encodeURIComponent(participantId)}`;
}

/** The recordings of one session at one moment: `/playback/<participantId>?session=<id>&scenario=<key>&at=<ms>`.
 *  The scenario key is as `scenarioChoices` gives it ("1", "2", "3", "reflective"); `atMs` is
 *  on the scenario clock (ms since the phase began, like evidence notes). Coordinators and
 *  moderators may name any session; others always see their own. */
export function playbackDeepLink(participantId: string, sessionId: string, scenario: string | number, atMs: number): string {
  const q = new URLSearchParams({
    session: sessionId,
    scenario: String(scenario),
    at: String(Math.max(0, Math.round(Number.isFinite(atMs) ? atMs : 0))),
  });
  return `${playbackPath(participantId)}?${q.toString()}`;
}

/** The deep link's scenario and moment in a query string (null: none, or not usable). */
export function playbackDeepLinkFromSearch(search: string): { scenario: string; atMs: number | null } | null {
  const q = new URLSearchParams(search);
  const scenario = q.get('scenario');
  if (!scenario || !/^([1-3]|reflective)$/.test(scenario)) return null;
  const at = q.get('at');
  const atMs = at !== null && /^\d{1,9}$/.test(at) ? Number(at) : null;
  return { scenario, atMs };
}
