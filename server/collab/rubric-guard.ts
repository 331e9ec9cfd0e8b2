// Checks what an update to a rubric document would change before it is applied: every key
// it writes or deletes must be one its author owns (an observer's own ratings and notes; the
// lead observer's agreed ratings and feedback), and every value must be well-formed. The
// update is tried on a copy of the document, so a refused update leaves nothing behind.
import * as Y from 'yjs';
import type { Participant } from '../../shared/domain.ts';
import {
  AgreedRatingSchema,
  EvidenceNoteSchema,
  LEAD_OWNED_MAPS,
  OBSERVER_OWNED_MAPS,
  RUBRIC_MAPS,
  type RubricMap,
} from '../../shared/rubric.ts';

export type GuardResult = { ok: true } | { ok: false; forbidden: boolean; reason: string };

/** Returns the root map name and the key under it that `type` lives in. */
function rootEntry(doc: Y.Doc, type: Y.AbstractType<unknown>, changedKey: string | null): { root: string | null; key: string | null } {
  let current = type;
  let key = changedKey;
  while (current._item !== null) {
    key = current._item.parentSub;
    current = current._item.parent as Y.AbstractType<unknown>;
  }
  for (const [name, shared] of doc.share) if (shared === current) return { root: name, key };
  return { root: null, key };
}

function validValue(map: RubricMap, value: unknown): boolean {
  switch (map) {
    case 'ratings':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 4;
    case 'global':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 7;
    case 'submitted':
      return Number.isInteger(value) && (value as number) > 0;
    case 'notes':
      return EvidenceNoteSchema.safeParse(value).success;
    case 'agreed':
      return AgreedRatingSchema.safeParse(value).success;
    case 'feedback':
      return typeof value === 'string' && value.length <= 20_000;
  }
}

export function checkRubricUpdate(
  author: Participant,
  current: Y.Doc,
  update: Uint8Array,
  frozen: ReadonlySet<RubricMap> = new Set(),
): GuardResult {
  const probe = new Y.Doc();
  Y.applyUpdate(probe, Y.encodeStateAsUpdate(current));
  const touched: Array<{ root: string | null; key: string | null }> = [];
  probe.on('afterTransaction', (tr: Y.Transaction) => {
    for (const [type, keys] of tr.changed) {
      for (const key of keys.size > 0 ? keys : new Set([null])) touched.push(rootEntry(probe, type as Y.AbstractType<unknown>, key));
    }
  });
  try {
    Y.applyUpdate(probe, update);
    for (const { root, key } of touched) {
      if (!root || !(RUBRIC_MAPS as readonly string[]).includes(root)) {
        return { ok: false, forbidden: false, reason: `unknown rubric section "${String(root).slice(0, 40)}"` };
      }
      const map = root as RubricMap;
      if (key === null) return { ok: false, forbidden: false, reason: `rubric section ${map} must be a map of entries` };
      if (frozen.has(map)) {
        return { ok: false, forbidden: true, reason: `moderation has begun: ${map === 'feedback' ? 'the feedback' : 'ratings and notes'} can no longer change` };
      }
      if (LEAD_OWNED_MAPS.has(map) && author.role !== 'leadObserver') {
        return { ok: false, forbidden: true, reason: `only the lead observer writes ${map}` };
      }
      if (OBSERVER_OWNED_MAPS.has(map) && !key.startsWith(`${author.id}|`)) {
        return { ok: false, forbidden: true, reason: `${map} entries of other observers are theirs to change` };
      }
      // Independent scoring: once an observer submits a scenario, their ratings for it are final.
      if ((map === 'ratings' || map === 'global') && current.getMap('submitted').has(`${author.id}|${key.split('|')[1]}`)) {
        return { ok: false, forbidden: true, reason: 'your ratings for this scenario were submitted and are final' };
      }
      const value = probe.getMap(map).get(key);
      if (value !== undefined && !validValue(map, value instanceof Y.AbstractType ? value.toJSON() : value)) {
        return { ok: false, forbidden: false, reason: `invalid value for ${map} entry` };
      }
    }
    return { ok: true };
  } finally {
    probe.destroy();
  }
}
