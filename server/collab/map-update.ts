// Reads what a Yjs update would do to a document made of top-level Y.Maps holding plain
// values, without applying it: every struct is decoded (Y.decodeUpdate) and resolved to the
// root map and key it would write, every deletion to the entry it would remove. The cost is
// that of the update, never of the document (the old guard re-encoded the whole document
// into a probe copy for every edit).
//
// Refused outright, because an honest client never sends them and because they are how a
// forger hides a struct from a key check:
// - a struct that would be left pending (a clock gap, or an origin the document does not
//   have): Yjs keeps such structs aside and integrates them later, after the check (issue 11,
//   row 2: a struct sent under the lead's client ID, one clock ahead);
// - nested types, text, embeds, or more than one value per item: rubric values are plain;
// - a deletion of something the document does not have, or of more than `maxDeletedStructs`.
import * as Y from 'yjs';
import type { DecodedUpdate } from './collab-server.ts';

export interface MapWrite {
  map: string;
  key: string;
  /** The value written; undefined when the client sent it already deleted (ContentDeleted). */
  value: unknown;
  deleted: boolean;
  client: number;
}

export interface MapDeletion {
  map: string;
  key: string;
}

export type MapUpdate =
  | { ok: true; writes: MapWrite[]; deletions: MapDeletion[]; clients: Set<number> }
  | { ok: false; reason: string };

type Struct = Y.Item | Y.GC | Y.Skip;

const idKey = (client: number, clock: number): string => `${client}:${clock}`;

/** The root map name of a type that lives at the top of `doc`, or null for a nested type. */
function rootName(doc: Y.Doc, type: Y.AbstractType<unknown>): string | null {
  if (type._item !== null) return null;
  for (const [name, shared] of doc.share) if (shared === type) return name;
  return null;
}

export function readMapUpdate(doc: Y.Doc, decoded: DecodedUpdate, options: { maxDeletedStructs?: number } = {}): MapUpdate {
  const store = doc.store;
  // What the document (plus this update, so far) holds of each client: the next clock expected.
  const next = new Map<number, number>();
  const expected = (client: number): number => next.get(client) ?? Y.getState(store, client);
  const clients = new Set<number>();
  const newItems = new Map<string, Y.Item>();

  // Pass 1: every struct continues its author's history exactly (nothing would be pending).
  for (const struct of decoded.structs as Struct[]) {
    const { client, clock } = struct.id;
    const known = expected(client);
    if (clock > known) return { ok: false, reason: 'the update skips part of its author’s history' };
    if (clock + struct.length <= known) continue; // already integrated: Yjs ignores it
    if (struct instanceof Y.Skip) return { ok: false, reason: 'the update skips part of its author’s history' };
    next.set(client, clock + struct.length);
    clients.add(client);
    if (struct instanceof Y.GC) continue; // deleted content the author garbage-collected: holds nothing
    if (struct.length !== 1) return { ok: false, reason: 'rubric entries are single values' };
    newItems.set(idKey(client, clock), struct);
  }

  // Pass 2: where each new item lives. Yjs takes parent and key from the left origin, else the
  // right one; an origin may be another struct of this update (of any client, in any order).
  const places = new Map<Y.Item, { map: string; key: string } | null>();
  const placeOf = (item: Y.Item, depth: number): { map: string; key: string } | null => {
    if (places.has(item)) return places.get(item)!;
    let place: { map: string; key: string } | null = null;
    if (typeof item.parent === 'string') {
      place = item.parentSub === null ? null : { map: item.parent, key: item.parentSub };
    } else if (item.parent === null && depth < 10_000) {
      const ref = item.origin ?? item.rightOrigin;
      const inUpdate = ref ? newItems.get(idKey(ref.client, ref.clock)) : undefined;
      place = inUpdate ? placeOf(inUpdate, depth + 1) : ref ? locateInDoc(ref) : null;
    }
    places.set(item, place);
    return place;
  };
  const locateInDoc = (id: Y.ID): { map: string; key: string } | null => {
    if (id.clock >= Y.getState(store, id.client)) return null;
    const struct = Y.getItem(store, id) as Struct;
    if (!(struct instanceof Y.Item) || struct.parentSub === null) return null;
    const map = rootName(doc, struct.parent as Y.AbstractType<unknown>);
    return map === null ? null : { map, key: struct.parentSub };
  };

  const fresh = new Map<string, { map: string; key: string }>();
  const writes: MapWrite[] = [];
  for (const [id, item] of newItems) {
    const place = placeOf(item, 0);
    if (!place) return { ok: false, reason: 'only entries of the document’s sections may be written' };
    const content = item.content;
    let value: unknown;
    let deleted = false;
    if (content instanceof Y.ContentAny && content.getLength() === 1) value = content.getContent()[0];
    else if (content instanceof Y.ContentDeleted) deleted = true;
    else return { ok: false, reason: 'rubric entries are plain values' };
    fresh.set(id, place);
    writes.push({ ...place, value, deleted, client: item.id.client });
  }

  const deletions: MapDeletion[] = [];
  const maxDeleted = options.maxDeletedStructs ?? 1000;
  for (const [client, ranges] of decoded.ds.clients) {
    for (const range of ranges) {
      for (let clock = range.clock; clock < range.clock + range.len; ) {
        if (deletions.length >= maxDeleted) return { ok: false, reason: 'the update deletes too much at once' };
        const inUpdate = fresh.get(idKey(client, clock));
        if (inUpdate) {
          deletions.push(inUpdate);
          clock++;
          continue;
        }
        if (clock >= Y.getState(store, client)) {
          // Deleting what is not there: Yjs would keep it pending. Within a GC'd range of this
          // update it is harmless; otherwise refuse.
          if (clock < expected(client)) {
            clock++;
            continue;
          }
          return { ok: false, reason: 'the update deletes content the server does not have' };
        }
        const struct = Y.getItem(store, Y.createID(client, clock)) as Struct;
        if (struct instanceof Y.Item && !struct.deleted) {
          const place = struct.parentSub === null ? null : rootName(doc, struct.parent as Y.AbstractType<unknown>);
          if (place === null || struct.parentSub === null) return { ok: false, reason: 'only entries of the document’s sections may be deleted' };
          deletions.push({ map: place, key: struct.parentSub });
        }
        clock = struct.id.clock + struct.length;
      }
    }
  }
  return { ok: true, writes, deletions, clients };
}
