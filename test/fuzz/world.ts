// The fuzzer's view of one booked session: who takes part (with their signed-in cookies and
// a marker tag each), the session's documents, and which of them each participant may write.
//
// Every participant has a tag (8 random letters). Whatever a participant's fuzz streams write
// carries a marker with its tag and the target document's code (MARKER), so a marker found in
// a document that someone else writes is a forged byte, and one received by someone who may
// not read its document is a leak. Honest scorers write their never-submitted sheet's notes
// with an 'hs' marker: it must reach nobody but its owner and the readers (moderator,
// coordinator).
import { collabDocName, sheetDocName, type SheetScenario } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import type { Rng } from './rng.ts';

export interface Person {
  id: string;
  role: Participant['role'];
  link: string;
  cookie: string;
  tag: string;
}

export interface World {
  seed: number;
  baseUrl: string;
  sessionId: string;
  /** A session of an earlier seed (or an unknown id), for cross-session attempts. */
  otherSessionId: string;
  people: Person[];
  /** Odd seeds: the lead's and the candidate's own fuzz streams write the lead document and the
   *  written exercise; even seeds: only honest clients write them (checked exactly). */
  ownersFuzzShared: boolean;
}

export const SCORER_ROLES: ReadonlySet<Participant['role']> = new Set(['observer', 'leadObserver']);
export const READER_ROLES: ReadonlySet<Participant['role']> = new Set(['moderator', 'coordinator']);

/** Sheets written honestly: scenario 1 stays unsubmitted (secret), scenario 2 is submitted. */
export const HONEST_SECRET_SCENARIO: SheetScenario = 1;
export const HONEST_SUBMITTED_SCENARIO: SheetScenario = 2;
/** Sheets each scorer's own fuzz streams write. */
export const OWNER_FUZZ_SCENARIOS: readonly SheetScenario[] = [3, 'reflective'];

export function newTag(rng: Rng): string {
  return rng.string(8, 'abcdefghijklmnopqrstuvwxyz');
}

export function personByRole(world: World, role: Participant['role'], index = 0): Person {
  const found = world.people.filter((p) => p.role === role)[index];
  if (!found) throw new Error(`no ${role} #${index}`);
  return found;
}

export const scorers = (world: World): Person[] => world.people.filter((p) => SCORER_ROLES.has(p.role));

/** Every document of the session, with its one legitimate writer. */
export function sessionDocs(world: World): Array<{ name: string; writer: Person }> {
  const docs: Array<{ name: string; writer: Person }> = [];
  for (const s of scorers(world)) {
    for (const scenario of [1, 2, 3, 'reflective'] as const) docs.push({ name: sheetDocName(world.sessionId, s.id, scenario), writer: s });
  }
  docs.push({ name: collabDocName(world.sessionId, 'rubric'), writer: personByRole(world, 'leadObserver') });
  docs.push({ name: collabDocName(world.sessionId, 'written'), writer: personByRole(world, 'candidate') });
  return docs;
}

/** Documents only honest clients write (checked entry by entry against what they wrote). */
export function honestDocs(world: World): Set<string> {
  const names = new Set<string>();
  for (const s of scorers(world)) {
    names.add(sheetDocName(world.sessionId, s.id, HONEST_SECRET_SCENARIO));
    names.add(sheetDocName(world.sessionId, s.id, HONEST_SUBMITTED_SCENARIO));
  }
  if (!world.ownersFuzzShared) {
    names.add(collabDocName(world.sessionId, 'rubric'));
    names.add(collabDocName(world.sessionId, 'written'));
  }
  return names;
}

/** The document a name in a /collab URL opens, as the server reads it (URL-normalised, then
 *  percent-decoded): `rubric/../written` and `session%2F…` are aliases, not other documents. */
export function resolveDocName(name: string): string | null {
  try {
    const { pathname } = new URL(`/collab/${name}`, 'http://studio');
    return pathname.startsWith('/collab/') ? decodeURIComponent(pathname.slice('/collab/'.length)) : null;
  } catch {
    return null;
  }
}

/** Where a participant's fuzz streams may aim: anything but (aliases of) the documents they write honestly. */
export function fuzzTargets(world: World, who: Person): string[] {
  const honest = honestDocs(world);
  const ownHonest = (name: string): boolean => {
    const resolved = resolveDocName(name);
    return sessionDocs(world).some((d) => d.name === resolved && d.writer.id === who.id && honest.has(d.name));
  };
  const targets = sessionDocs(world).map((d) => d.name);
  const other = world.otherSessionId;
  const someone = world.people[0]!.id;
  targets.push(
    collabDocName(other, 'rubric'),
    collabDocName(other, 'written'),
    sheetDocName(other, someone, 1),
    `session/${world.sessionId}/sheet/${who.id}/4`,
    `session/${world.sessionId}/rubric/../written`,
    `session%2F${world.sessionId}%2Frubric`,
    '%',
    '%E0%A4%A',
    '',
    'x'.repeat(3000),
  );
  return targets.filter((name) => !ownHonest(name));
}

/**
 * Two letters naming a document of the session in markers ('zz': no document, e.g. a
 * Socket.IO or HTTP payload; 'qq': an honest scorer's secret note).
 */
export function docCode(world: World, docName: string): string {
  const resolved = resolveDocName(docName);
  const i = sessionDocs(world).findIndex((d) => d.name === resolved);
  if (i < 0) return 'zz';
  return String.fromCharCode(97 + Math.floor(i / 26), 97 + (i % 26));
}

export function docOfCode(world: World, code: string): { name: string; writer: Person } | undefined {
  if (!/^[a-y][a-z]$/.test(code) || code === 'qq') return undefined;
  return sessionDocs(world)[(code.charCodeAt(0) - 97) * 26 + (code.charCodeAt(1) - 97)];
}

/** Markers: prefix ('fz' fuzzed, 'hs' an honest secret), the author's tag, a document code. */
export const MARKER = /(fz|hs)([a-z]{8})([a-z]{2})/g;

/** Whether a fuzz message from `who` landing in `docName` would be legitimate (their own document). */
export function writesOwn(world: World, who: Person, docName: string): boolean {
  return sessionDocs(world).some((d) => d.name === docName && d.writer.id === who.id);
}
