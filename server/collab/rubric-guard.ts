// What a writer may put into the rubric's documents (layout in shared/rubric.ts), checked on
// the decoded update before it is applied (server/collab/map-update.ts): each entry it writes
// or deletes must be in a section of that document, under a key of the right shape for this
// sheet or this session, with a valid value, and within the section's size.
//
// Forging is impossible by construction rather than detected: each document has exactly one
// writer (an observer's sheet: that observer; the lead document: the lead observer), so no
// struct of anyone else can be in it, and a struct that would be kept pending is refused
// before it could be integrated later under someone else's edit.
import type * as Y from 'yjs';
import type { DecodedUpdate } from './collab-server.ts';
import type { CollabTarget, SheetScenario } from '../../shared/collab.ts';
import { RUBRIC_LIMITS, SHEET_MAPS, LEAD_MAPS, type RubricMap } from '../../shared/rubric.ts';
import { AgreedRatingSchema, EvidenceNoteSchema } from '../../shared/rubric-schemas.ts';
import { readMapUpdate, type MapWrite } from './map-update.ts';

export type GuardResult = { ok: true } | { ok: false; forbidden: boolean; reason: string };

export interface GuardContext {
  target: CollabTarget;
  /** Item ids that may be rated: the framework's domains, and the reflection item. */
  itemIds: ReadonlySet<string>;
  /** Sections that moderation has frozen. */
  frozen: ReadonlySet<RubricMap>;
}

const SCENARIO_KEYS = new Set(['1', '2', '3', 'reflective']);
const NOTE_ID = /^[a-z0-9-]{1,40}$/;

const isIntIn = (value: unknown, min: number, max: number): boolean => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;

/** Checks one written entry; returns why it is refused, or null. */
function checkEntry(ctx: GuardContext, write: { map: string; key: string }, value: unknown, deleted: boolean): { forbidden: boolean; reason: string } | null {
  const { target } = ctx;
  const sections: ReadonlySet<string> = target.kind === 'sheet' ? SHEET_MAPS : LEAD_MAPS;
  if (!sections.has(write.map)) {
    const owned = target.kind === 'sheet' ? LEAD_MAPS.has(write.map as RubricMap) : SHEET_MAPS.has(write.map as RubricMap);
    return owned
      ? { forbidden: true, reason: `${write.map} is not written in this document` }
      : { forbidden: false, reason: `unknown rubric section "${write.map.slice(0, 40)}"` };
  }
  const map = write.map as RubricMap;
  if (ctx.frozen.has(map)) {
    return { forbidden: true, reason: `moderation has begun: ${map === 'feedback' ? 'the feedback' : 'ratings and notes'} can no longer change` };
  }
  if (write.key.length > RUBRIC_LIMITS.maxKeyChars) return { forbidden: false, reason: `${map} key too long` };
  const parts = write.key.split('|');
  if (target.kind === 'sheet') {
    const owner = target.observerId;
    const scenario = String(target.scenario);
    if (parts[0] !== owner) return { forbidden: true, reason: `${map} entries of other observers are theirs to change` };
    switch (map) {
      case 'ratings':
        if (parts.length !== 3 || parts[1] !== scenario || !ctx.itemIds.has(parts[2]!)) return { forbidden: false, reason: 'not a rating of this sheet' };
        return deleted || isIntIn(value, 1, 4) ? null : { forbidden: false, reason: 'invalid value for ratings entry' };
      case 'global':
      case 'submitted':
        if (parts.length !== 2 || parts[1] !== scenario) return { forbidden: false, reason: `not a ${map} entry of this sheet` };
        if (deleted) return null;
        return (map === 'global' ? isIntIn(value, 1, 7) : isIntIn(value, 1, Number.MAX_SAFE_INTEGER))
          ? null
          : { forbidden: false, reason: `invalid value for ${map} entry` };
      case 'notes': {
        if (parts.length !== 2 || !NOTE_ID.test(parts[1]!)) return { forbidden: false, reason: 'not a note of this sheet' };
        if (deleted) return null;
        const note = EvidenceNoteSchema.safeParse(value);
        if (!note.success || String(note.data.scenario) !== scenario) return { forbidden: false, reason: 'invalid value for notes entry' };
        return null;
      }
      default:
        return { forbidden: true, reason: `${map} is not written in a sheet` };
    }
  }
  // The lead observer's document.
  switch (map) {
    case 'agreed':
      if (parts.length !== 2 || !SCENARIO_KEYS.has(parts[0]!) || !ctx.itemIds.has(parts[1]!)) return { forbidden: false, reason: 'not an agreed rating' };
      return deleted || AgreedRatingSchema.safeParse(value).success ? null : { forbidden: false, reason: 'invalid value for agreed entry' };
    case 'feedback':
      if (parts.length !== 2 || !(SCENARIO_KEYS.has(parts[0]!) || parts[0] === 'overall') || !(parts[1] === 'strengths' || parts[1] === 'development')) {
        return { forbidden: false, reason: 'not a feedback entry' };
      }
      return deleted || (typeof value === 'string' && value.length <= RUBRIC_LIMITS.maxFeedbackChars)
        ? null
        : { forbidden: false, reason: 'invalid value for feedback entry' };
    default:
      return { forbidden: true, reason: `only the observer writes ${map}` };
  }
}

/** Checks a writer's update against the current document of `ctx.target`. */
export function checkRubricUpdate(ctx: GuardContext, current: Y.Doc, update: DecodedUpdate): GuardResult {
  const read = readMapUpdate(current, update, { maxDeletedStructs: RUBRIC_LIMITS.maxEntriesPerSection });
  if (!read.ok) return { ok: false, forbidden: false, reason: read.reason };
  const added = new Map<string, Set<string>>();
  const check = (write: Pick<MapWrite, 'map' | 'key'>, value: unknown, deleted: boolean): GuardResult | null => {
    const refused = checkEntry(ctx, write, value, deleted);
    if (refused) return { ok: false, ...refused };
    const section = current.getMap(write.map) as Y.Map<unknown>;
    if (!section._map.has(write.key)) {
      const keys = added.get(write.map) ?? new Set<string>();
      keys.add(write.key);
      added.set(write.map, keys);
      if (section._map.size + keys.size > RUBRIC_LIMITS.maxEntriesPerSection) {
        return { ok: false, forbidden: false, reason: `${write.map} is full` };
      }
    }
    return null;
  };
  for (const write of read.writes) {
    const refused = check(write, write.value, write.deleted);
    if (refused) return refused;
  }
  for (const deletion of read.deletions) {
    const refused = check(deletion, undefined, true);
    if (refused) return refused;
  }
  return { ok: true };
}

/** Whether the observer has submitted this sheet (from then on it is read-only evidence). */
export function sheetSubmitted(doc: Y.Doc): boolean {
  return doc.getMap('submitted').size > 0;
}

export type { SheetScenario };
