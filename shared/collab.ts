// The collaborative-document protocol: the standard y-websocket protocol (y-protocols sync
// and awareness) at /collab/<docName>, plus SimStudio's document names, limits and the
// close codes with which the server ends a connection.
export const COLLAB_PATH = '/collab/';

/** y-websocket message types (first varUint of every message). */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

/** y-protocols sync sub-types (second varUint of a sync message). */
export const SYNC_STEP_1 = 0;
export const SYNC_STEP_2 = 1;
export const SYNC_UPDATE = 2;

export type CollabDocKind = 'rubric' | 'sheet' | 'written';

/** A scenario of the rubric: 1..3, or the reflective conversation. */
export type SheetScenario = 1 | 2 | 3 | 'reflective';
export const SHEET_SCENARIOS: readonly SheetScenario[] = [1, 2, 3, 'reflective'];

/**
 * The collaborative documents of a session:
 * - `session/<id>/rubric`: the lead observer's document (agreed ratings, narrative feedback);
 * - `session/<id>/sheet/<observerId>/<scenario>`: one observer's own scoring sheet for one
 *   scenario (ratings, global judgement, evidence notes, submission). Only its owner writes it,
 *   and no other observer (the lead included) receives a byte of it before it is submitted;
 * - `session/<id>/written`: the candidate's written exercise.
 */
export type CollabTarget =
  | { kind: 'rubric'; sessionId: string }
  | { kind: 'written'; sessionId: string }
  | { kind: 'sheet'; sessionId: string; observerId: string; scenario: SheetScenario };

export function collabDocName(sessionId: string, kind: 'rubric' | 'written'): string {
  return `session/${sessionId}/${kind}`;
}

export function sheetDocName(sessionId: string, observerId: string, scenario: SheetScenario): string {
  return `${sheetsPrefix(sessionId)}${observerId}/${scenario}`;
}

/** What the names of all a session's scoring sheets start with. */
export function sheetsPrefix(sessionId: string): string {
  return `session/${sessionId}/sheet/`;
}

export function collabTargetName(target: CollabTarget): string {
  return target.kind === 'sheet' ? sheetDocName(target.sessionId, target.observerId, target.scenario) : collabDocName(target.sessionId, target.kind);
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const DOC_NAME = new RegExp(`^session/(${UUID})/(?:(rubric|written)|sheet/(${UUID})/(1|2|3|reflective))$`);

export function parseCollabDocName(name: string): CollabTarget | null {
  const match = DOC_NAME.exec(name);
  if (!match) return null;
  const sessionId = match[1]!;
  if (match[2]) return { kind: match[2] as 'rubric' | 'written', sessionId };
  const scenario = match[4] === 'reflective' ? 'reflective' : (Number(match[4]) as 1 | 2 | 3);
  return { kind: 'sheet', sessionId, observerId: match[3]!, scenario };
}

/** Limits per connection (server-enforced). */
export const COLLAB_LIMITS = {
  /** Largest accepted message. */
  maxMessageBytes: 512 * 1024,
  /** Messages per second before the connection is closed. */
  maxMessagesPerSecond: 200,
  /** Largest message to a rubric document or scoring sheet (values are small). */
  maxRubricMessageBytes: 64 * 1024,
  /** Largest presence (awareness) state of one client. */
  maxAwarenessStateBytes: 2048,
  /** Ping interval; a connection that misses one ping is closed. */
  heartbeatMs: 30_000,
} as const;

/**
 * Close codes. 1009 is WebSocket's own "message too big"; the 44xx codes mirror HTTP
 * statuses so that logs read naturally.
 */
export const CLOSE_CODES = {
  MessageTooBig: 1009,
  BadRequest: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  NotFound: 4404,
  RateLimited: 4429,
  ServerError: 4500,
} as const;
export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** The written exercise lives in one Y.XmlFragment of this name (the editor binds to it). */
export const WRITTEN_FRAGMENT = 'content';

/** Default limits of the written exercise (configurable on the server). */
export const WRITTEN_DEFAULTS = {
  /** Text size cap; the stored document (text, formatting, edits) may hold 5× this in bytes. */
  maxTextBytes: 200 * 1024,
  /** After the deadline, a client that was disconnected at the deadline may still sync this long. */
  reconnectGraceSeconds: 60,
} as const;

/** The candidate's written exercise, as the server sees it. */
export interface WrittenStatus {
  /** paused: the day is paused, and so is writing (the deadline moves on by the pause). */
  status: 'not-started' | 'open' | 'paused' | 'grace' | 'submitted';
  /** When writing closes (server epoch ms): the phase deadline, which moves with pause and extend
   *  (a soft-timer written phase too: writing closes at it even while the day waits for the lead). */
  closesAt: number | null;
  /** Set once the server has frozen the final text. */
  frozen: { frozenAt: number; sha256: string; text: string } | null;
}
