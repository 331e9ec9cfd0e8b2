// Random selection of a session's scenarios from the bank. Practitioners get one family's
// case in order; practice supervisors three separate cases, one of them a supervision
// session. A candidate never gets a scenario they have sat before.
import type { Level } from '../../shared/domain.ts';
import type { Scenario } from '../../shared/scenario.ts';

export class DrawError extends Error {}

function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new DrawError('nothing to pick from');
  return item;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

export function drawScenarios(
  bank: readonly Scenario[],
  level: Level,
  count: number,
  alreadySat: ReadonlySet<string>,
  random: () => number = Math.random,
): Scenario[] {
  const fresh = bank.filter((s) => s.level === level && !alreadySat.has(s.id));
  if (level === 'practitioner') {
    const families = new Map<string, Scenario[]>();
    for (const s of fresh) {
      if (s.caseFamily === null || s.order === null) continue;
      families.set(s.caseFamily, [...(families.get(s.caseFamily) ?? []), s]);
    }
    const complete = [...families.values()]
      .map((members) => members.sort((a, b) => (a.order ?? 0) - (b.order ?? 0)))
      .filter((members) => members.slice(0, count).every((s, i) => s.order === i + 1) && members.length >= count);
    if (complete.length === 0) {
      throw new DrawError(`no practitioner case family with ${count} scenarios that this candidate has not sat; add one to the bank`);
    }
    return pick(complete, random).slice(0, count);
  }
  const separate = fresh.filter((s) => s.caseFamily === null);
  const supervision = separate.filter((s) => s.supervision);
  const others = separate.filter((s) => !s.supervision);
  if (count >= 3) {
    if (supervision.length === 0 || others.length < count - 1) {
      throw new DrawError(`the bank needs a supervision scenario and ${count - 1} other supervisor scenarios this candidate has not sat`);
    }
    return shuffled([pick(supervision, random), ...shuffled(others, random).slice(0, count - 1)], random);
  }
  if (separate.length < count) throw new DrawError(`not enough supervisor scenarios this candidate has not sat`);
  return shuffled(separate, random).slice(0, count);
}

/** A small seeded generator (mulberry32) for repeatable draws in tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
