// What an update to the written exercise may contain, read from its decoded structs
// (Y.decodeUpdate) without applying it to anything: the cost is that of the update, never of
// the document (the old check re-encoded the whole document into a probe copy for every
// keystroke, issue 11, rows 7 and 15).
//
// Refused, because the editor never sends them:
// - a struct in any shared root but the exercise's one fragment;
// - content the editor does not make: sub-documents, binary or legacy JSON content, nested
//   types other than XML elements and XML text;
// - anything Yjs would keep pending (a clock gap, an origin, parent or deletion the document
//   does not have): pending structs are stored and integrated later, unchecked.
import * as Y from 'yjs';
import { WRITTEN_FRAGMENT } from '../../shared/collab.ts';
import type { DecodedUpdate } from '../collab/collab-server.ts';

export type WrittenUpdateCheck = { ok: true } | { ok: false; reason: string };

type Struct = Y.Item | Y.GC | Y.Skip;

export function checkWrittenStructs(doc: Y.Doc, decoded: DecodedUpdate): WrittenUpdateCheck {
  // The next clock of each client: what the document holds, extended by this update's structs.
  const next = new Map<number, number>();
  const expected = (client: number): number => next.get(client) ?? Y.getState(doc.store, client);
  const structs = decoded.structs as Struct[];
  for (const struct of structs) {
    const { client, clock } = struct.id;
    const known = expected(client);
    if (clock > known || struct instanceof Y.Skip) return { ok: false, reason: 'the update skips part of its history' };
    if (clock + struct.length > known) next.set(client, clock + struct.length);
  }
  // Every reference must point at something the document or this update holds.
  const exists = (id: Y.ID | null): boolean => id === null || id.clock < expected(id.client);
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue;
    if (struct.id.clock + struct.length <= Y.getState(doc.store, struct.id.client)) continue; // already integrated
    if (!exists(struct.origin) || !exists(struct.rightOrigin)) return { ok: false, reason: 'the update refers to text the server does not have' };
    const parent = struct.parent as string | Y.ID | null;
    if (typeof parent === 'string') {
      if (parent !== WRITTEN_FRAGMENT) return { ok: false, reason: 'this is not part of the written exercise' };
    } else if (parent !== null && !exists(parent)) {
      return { ok: false, reason: 'the update refers to text the server does not have' };
    }
    if (!allowedContent(struct.content)) return { ok: false, reason: 'the written exercise holds only formatted text' };
  }
  for (const [client, ranges] of decoded.ds.clients) {
    for (const range of ranges) {
      if (range.clock + range.len > expected(client)) return { ok: false, reason: 'the update deletes text the server does not have' };
    }
  }
  return { ok: true };
}

/** What the rich-text editor (y-prosemirror over one XML fragment) writes. */
function allowedContent(content: Y.Item['content']): boolean {
  if (content instanceof Y.ContentType) return content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText;
  return (
    content instanceof Y.ContentString ||
    content instanceof Y.ContentFormat ||
    content instanceof Y.ContentAny ||
    content instanceof Y.ContentEmbed ||
    content instanceof Y.ContentDeleted
  );
}
