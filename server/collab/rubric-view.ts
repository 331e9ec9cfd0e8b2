// The rubric of a session as one read-only view: the lead observer's document and every
// observer's sheets, section by section (moderation, reports and playback read it; nothing
// writes through it). Sheet keys carry their observer and scenario, so the union of the
// sheets' sections is the whole rubric.
import * as Y from 'yjs';
import { collabDocName, sheetDocName, sheetsPrefix, SHEET_SCENARIOS } from '../../shared/collab.ts';
import { LEAD_MAPS, SHEET_MAPS, type RubricMap } from '../../shared/rubric.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import type { DocStore } from './doc-store.ts';

/** One section: the read side of a Y.Map, so a rubric document can stand in for a view. */
export interface RubricSection {
  get(key: string): unknown;
  entries(): Iterable<[string, unknown]>;
}

export interface RubricView {
  getMap(section: RubricMap): RubricSection;
}

/**
 * Reads the session's rubric through `load` (the live document while anyone has it open,
 * else the stored one). `observerIds`: everyone who may have sheets (observers and lead).
 */
export function readRubricView(load: (docName: string) => Y.Doc, sessionId: string, observerIds: readonly string[]): RubricView {
  const sections = new Map<RubricMap, Map<string, unknown>>();
  const collect = (doc: Y.Doc, names: ReadonlySet<RubricMap>): void => {
    for (const name of names) {
      const into = sections.get(name) ?? new Map<string, unknown>();
      for (const [key, value] of doc.getMap(name).entries()) into.set(key, value);
      sections.set(name, into);
    }
  };
  collect(load(collabDocName(sessionId, 'rubric')), LEAD_MAPS);
  for (const observerId of observerIds) {
    for (const scenario of SHEET_SCENARIOS) collect(load(sheetDocName(sessionId, observerId, scenario)), SHEET_MAPS);
  }
  return { getMap: (section) => sections.get(section) ?? new Map() };
}

/** `sessionId → RubricView` over the store, preferring live documents where `live` has them. */
export function rubricViews(
  store: Pick<DocStore, 'load' | 'loadUnder'>,
  sessions: Pick<SessionsRepo, 'listParticipants'>,
  live: (docName: string) => Y.Doc | undefined = () => undefined,
): (sessionId: string) => RubricView {
  const empty = new Y.Doc();
  return (sessionId) => {
    // All the session's sheets at once (a moderation queue reads hundreds of sessions).
    const prefix = sheetsPrefix(sessionId);
    const sheets = store.loadUnder(prefix);
    return readRubricView(
      (name) => live(name) ?? sheets.get(name) ?? (name.startsWith(prefix) ? empty : store.load(name).ydoc),
      sessionId,
      sessions
        .listParticipants(sessionId)
        .filter((p) => p.role === 'observer' || p.role === 'leadObserver')
        .map((p) => p.id),
    );
  };
}
