// What must hold after a fuzz run, read from the server's own database (the durable truth:
// every accepted update is appended before its author is told it is saved):
// - no document has pending structs or deletions (nothing waits to be integrated later);
// - every marker in a document is its one writer's, made for that document (no forged byte);
// - every entry has the layout shared/rubric.ts gives it (sections, keys of its owner, values);
// - documents only honest clients write hold exactly what those clients wrote and the server
//   acknowledged, and nothing under any other client ID;
// - no marker reached a participant who may not read its document (independent scoring).
import { isDeepStrictEqual } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import * as Y from 'yjs';
import { WRITTEN_FRAGMENT, parseCollabDocName } from '../../shared/collab.ts';
import { LEAD_MAPS, RUBRIC_LIMITS, SHEET_MAPS } from '../../shared/rubric.ts';
import { AgreedRatingSchema, EvidenceNoteSchema } from '../../shared/rubric-schemas.ts';
import { DocStore } from '../../server/collab/doc-store.ts';
import type { HonestWriter, Sighting } from './collab-streams.ts';
import { MARKER, READER_ROLES, docCode, docOfCode, sessionDocs, type World } from './world.ts';

export interface Finding {
  kind: 'pending' | 'forged' | 'layout' | 'honest' | 'leak';
  doc: string;
  detail: string;
}

/** The session's documents as the server stored them (a read-only connection to its database). */
export function loadStoredDocs(dbFile: string, names: string[]): Map<string, Y.Doc> {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    const store = new DocStore(db);
    return new Map(names.map((name) => [name, store.load(name).ydoc]));
  } finally {
    db.close();
  }
}

/** A document's content in comparable form: each map section as JSON, the written fragment as XML. */
export function contentOf(doc: Y.Doc, written: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of [...doc.share.keys()].sort()) {
    if (written && name === WRITTEN_FRAGMENT) out[name] = doc.getXmlFragment(name).toString();
    else if (written) out[name] = '(a root the written exercise does not have)';
    else out[name] = doc.getMap(name).toJSON();
  }
  return out;
}

const isInt = (v: unknown, min: number, max: number): boolean => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** Layout of a rubric document, from shared/rubric.ts (independently of the server's guard). */
function layoutFindings(world: World, name: string, doc: Y.Doc): string[] {
  const target = parseCollabDocName(name);
  if (!target) return ['not a document name'];
  const problems: string[] = [];
  if (target.kind === 'written') {
    for (const root of doc.share.keys()) if (root !== WRITTEN_FRAGMENT) problems.push(`root "${root}" in the written exercise`);
    return problems;
  }
  const sections: ReadonlySet<string> = target.kind === 'sheet' ? SHEET_MAPS : LEAD_MAPS;
  for (const root of doc.share.keys()) {
    if (!sections.has(root)) {
      problems.push(`section "${root.slice(0, 40)}" in a ${target.kind} document`);
      continue;
    }
    const map = doc.getMap<unknown>(root);
    if (map._start !== null) problems.push(`${root} holds list content`);
    if (map.size > RUBRIC_LIMITS.maxEntriesPerSection) problems.push(`${root} holds ${map.size} entries`);
    for (const [key, value] of map.entries()) {
      const where = `${root}["${key.slice(0, 60)}"]`;
      if (value instanceof Y.AbstractType) {
        problems.push(`${where} is a nested type`);
        continue;
      }
      const parts = key.split('|');
      if (target.kind === 'sheet') {
        const scenario = String(target.scenario);
        const own = parts[0] === target.observerId;
        const ok =
          own &&
          (root === 'ratings'
            ? parts.length === 3 && parts[1] === scenario && isInt(value, 1, 4)
            : root === 'global'
              ? parts.length === 2 && parts[1] === scenario && isInt(value, 1, 7)
              : root === 'submitted'
                ? parts.length === 2 && parts[1] === scenario && isInt(value, 1, Number.MAX_SAFE_INTEGER)
                : parts.length === 2 && EvidenceNoteSchema.safeParse(value).success && String((value as { scenario: unknown }).scenario) === scenario);
        if (!ok) problems.push(`${where} = ${JSON.stringify(value)?.slice(0, 80)} is not ${own ? 'a valid entry' : 'its observer’s'}`);
      } else {
        const ok =
          parts.length === 2 &&
          (root === 'agreed'
            ? AgreedRatingSchema.safeParse(value).success
            : typeof value === 'string' && (parts[1] === 'strengths' || parts[1] === 'development'));
        if (!ok) problems.push(`${where} = ${JSON.stringify(value)?.slice(0, 80)} is not a valid entry`);
      }
    }
  }
  void world;
  return problems;
}

export function checkDocuments(world: World, stored: Map<string, Y.Doc>, honest: HonestWriter[], honestDocNames: Set<string>): Finding[] {
  const findings: Finding[] = [];
  for (const { name, writer } of sessionDocs(world)) {
    const doc = stored.get(name)!;
    if (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) {
      findings.push({ kind: 'pending', doc: name, detail: 'the stored document has structs or deletions waiting to be integrated' });
    }
    // Markers: only the writer's own, made for this document.
    const bytes = Buffer.from(Y.encodeStateAsUpdate(doc)).toString('latin1');
    const own = docCode(world, name);
    for (const [marker, prefix, tag, code] of bytes.matchAll(MARKER)) {
      const author = world.people.find((p) => p.tag === tag);
      if (!author) continue;
      if (author.id !== writer.id || (prefix === 'fz' && code !== own)) {
        findings.push({ kind: 'forged', doc: name, detail: `${marker}: written by a ${author.role} (${author.id}) into a document only ${writer.role} ${writer.id} writes` });
      }
    }
    for (const problem of layoutFindings(world, name, doc)) findings.push({ kind: 'layout', doc: name, detail: problem });

    if (!honestDocNames.has(name)) continue;
    const client = honest.find((h) => h.docName === name && h.who.id === writer.id);
    if (!client) {
      findings.push({ kind: 'honest', doc: name, detail: 'no honest client wrote it' });
      continue;
    }
    const written = parseCollabDocName(name)?.kind === 'written';
    const storedContent = contentOf(doc, written);
    // What the server sent the honest writer is what it stored, and the writer wrote all of it.
    const acknowledged = contentOf(client.link.serverView, written);
    if (!isDeepStrictEqual(storedContent, acknowledged)) {
      findings.push({ kind: 'honest', doc: name, detail: `stored ${JSON.stringify(storedContent).slice(0, 300)} ≠ acknowledged ${JSON.stringify(acknowledged).slice(0, 300)}` });
    }
    if (client.unexpectedClose === null && !isDeepStrictEqual(storedContent, contentOf(client.doc, written))) {
      findings.push({ kind: 'honest', doc: name, detail: 'an edit of the honest writer is missing' });
    }
    const authors = [...Y.decodeStateVector(Y.encodeStateVector(doc)).keys()].filter((c) => c !== client.doc.clientID);
    if (authors.length > 0) findings.push({ kind: 'forged', doc: name, detail: `structs of client IDs ${authors.join(', ')} in a document only ${client.doc.clientID} writes` });
  }
  return findings;
}

/** Sightings that are leaks, given which sheets ended up submitted. */
export function checkSightings(world: World, sightings: Sighting[], stored: Map<string, Y.Doc>): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const s of sightings) {
    if (READER_ROLES.has(s.receiver.role) || s.author.id === s.receiver.id) continue;
    let legitimate = false;
    if (s.prefix === 'fz') {
      const doc = docOfCode(world, s.code);
      const target = doc ? parseCollabDocName(doc.name) : null;
      if (doc && target && doc.writer.id === s.author.id) {
        // The writer's own content, of a document the receiver may read now.
        if (target.kind === 'rubric') legitimate = s.receiver.role === 'observer' || s.receiver.role === 'leadObserver';
        if (target.kind === 'sheet') legitimate = (s.receiver.role === 'observer' || s.receiver.role === 'leadObserver') && stored.get(doc.name)!.getMap('submitted').size > 0;
      }
    }
    if (legitimate) continue;
    const key = `${s.receiver.id}|${s.channel}|${s.prefix}${s.author.tag}${s.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push({
      kind: 'leak',
      doc: s.channel,
      detail: `a ${s.receiver.role} (${s.receiver.id}) received ${s.prefix === 'hs' ? 'an unsubmitted sheet’s note' : `text fuzzed into ${docOfCode(world, s.code)?.name ?? 'a payload'}`} of a ${s.author.role} (${s.author.id})`,
    });
  }
  return findings;
}
