// Erasure inside the scoring documents: observers' evidence notes, their ratings' reasons and the
// lead observer's feedback are free text in Yjs documents (binary), which the sweep of text
// columns cannot read. Each of the sessions' rubric and sheet documents is loaded, every value
// that names the person is set again with the pseudonym, and the document is stored as one
// snapshot in place of its log. Set in place, not rebuilt: Yjs drops the content of what a change
// replaced (its garbage collection), so no earlier text survives in the stored state, and a
// browser that still holds the old document and syncs again adds nothing back (its items are
// already known, and deleted).
import * as Y from 'yjs';
import { parseCollabDocName } from '../../shared/collab.ts';
import { DocStore } from '../collab/doc-store.ts';
import type { Database } from '../db/database.ts';

/** Every string in a JSON value with each [from, to] replaced; the same value when none occurs. */
export function replaceDeep(value: unknown, replacements: ReadonlyArray<readonly [string, string]>): unknown {
  if (typeof value === 'string') {
    let next = value;
    for (const [from, to] of replacements) if (next.includes(from)) next = next.split(from).join(to);
    return next;
  }
  if (Array.isArray(value)) {
    const next = value.map((v) => replaceDeep(v, replacements));
    return next.some((v, i) => v !== value[i]) ? next : value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value).map(([k, v]) => [k, replaceDeep(v, replacements)] as const);
    return entries.some(([k, v]) => v !== (value as Record<string, unknown>)[k]) ? Object.fromEntries(entries) : value;
  }
  return value;
}

/** Sets every top-level map entry that names anyone in `replacements` again, pseudonymised.
 *  Scoring documents hold maps only. Returns how many entries changed. */
export function pseudonymiseMaps(ydoc: Y.Doc, replacements: ReadonlyArray<readonly [string, string]>): number {
  let changed = 0;
  ydoc.transact(() => {
    for (const name of [...ydoc.share.keys()]) {
      const map = ydoc.getMap<unknown>(name);
      for (const [key, value] of [...map.entries()]) {
        const next = replaceDeep(value, replacements);
        if (next === value) continue;
        map.set(key, next);
        changed++;
      }
    }
  });
  return changed;
}

/**
 * Pseudonymises the rubric and sheet documents of these sessions (the written exercise is dealt
 * with by its frozen text). Runs inside the erasure's transaction. Returns the names of the
 * documents that changed.
 */
export function pseudonymiseScoringDocuments(db: Database, sessionIds: readonly string[], replacements: ReadonlyArray<readonly [string, string]>): string[] {
  const store = new DocStore(db);
  const documents: string[] = [];
  for (const sessionId of sessionIds) {
    for (const [name, ydoc] of store.loadUnder(`session/${sessionId}/`)) {
      const target = parseCollabDocName(name);
      if (!target || target.kind === 'written') continue;
      if (pseudonymiseMaps(ydoc, replacements) === 0) continue;
      store.replace(name, ydoc);
      documents.push(name);
    }
  }
  return documents;
}
