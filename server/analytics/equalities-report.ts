// Equalities monitoring in aggregate (pure: no I/O): the candidates' voluntary answers matched
// to their observation outcomes by candidate reference, in memory. Per characteristic, pass
// rates by group (the subgroups analysis: groups under 10 suppressed, no numbers at all), and
// differential item functioning per domain (Mantel–Haenszel, the largest group against the
// others pooled). Nothing about one candidate leaves this module: no reference, no name, no row.
import type { DifItem } from '../../shared/analytics.ts';
import {
  CHARACTERISTICS,
  ethnicGroupOf,
  PREFER_NOT_TO_SAY,
  type Characteristic,
  type EqualitiesAnswers,
  type EqualitiesDif,
  type EqualitiesReport,
} from '../../shared/equalities.ts';
import { FRAMEWORKS, REFLECTION_ITEM_ID } from '../../shared/rubric.ts';
import type { CohortData, CohortOutcome } from './cohort-data.ts';
import { dif, type DifResponse } from './dif.ts';
import { AnalysisInputError } from './input.ts';
import { SMALLEST_SHOWN_GROUP, subgroups, type SubgroupRecord } from './subgroups.ts';

/** A domain is passed when the candidate's final mark on it, averaged over the scenarios, meets the standard. */
export const DOMAIN_PASS_RATING = 3;
/** Score bands candidates are matched within (quantiles of the other domains' total). */
export const MATCHING_BANDS = 5;

export const DIF_METHOD =
  `A domain is passed when the candidate's final mark on it (the moderated, else the agreed rating), averaged over the scenarios, is ${DOMAIN_PASS_RATING} or more. ` +
  `Candidates are matched on the total of their other domains, in ${MATCHING_BANDS} bands of equal size (matching on a total that includes the domain ` +
  `tested would carry a bias in one domain into the others). The reference group is the largest; every other stated group is pooled as the focal group; ` +
  `"Prefer not to say" is left out. ETS classes: A negligible, B moderate, C large.`;

const ITEM_TITLES: Record<string, string> = Object.fromEntries(FRAMEWORKS.flatMap((f) => f.domains.map((d) => [d.id, `${d.number}. ${d.title}`])));

interface Candidate {
  passed: 0 | 1;
  /** Per domain: the mean of its final marks over the scenarios. */
  domains: Map<string, number>;
  groups: Partial<Record<Characteristic, string>>;
}

function groupsOf(a: EqualitiesAnswers): Partial<Record<Characteristic, string>> {
  const stated = (v: string): string | undefined => (v === PREFER_NOT_TO_SAY ? undefined : v);
  const groups: Partial<Record<Characteristic, string>> = {};
  const put = (c: Characteristic, v: string | undefined): void => {
    if (v !== undefined) groups[c] = v;
  };
  put('ageBand', stated(a.ageBand));
  put('sex', stated(a.sex));
  put('ethnicGroup', a.ethnicity === PREFER_NOT_TO_SAY ? undefined : ethnicGroupOf(a.ethnicity));
  put('ethnicity', stated(a.ethnicity));
  put('disability', stated(a.disability));
  put('firstLanguageEnglish', stated(a.firstLanguageEnglish));
  return groups;
}

function domainMeans(outcome: CohortOutcome): Map<string, number> {
  const sums = new Map<string, { sum: number; n: number }>();
  for (const f of outcome.finals ?? []) {
    if (f.item === REFLECTION_ITEM_ID) continue;
    const s = sums.get(f.item) ?? { sum: 0, n: 0 };
    s.sum += f.rating;
    s.n++;
    sums.set(f.item, s);
  }
  return new Map([...sums].map(([item, s]) => [item, s.sum / s.n]));
}

/**
 * The candidates who answered and have an observation outcome: each candidate's latest session
 * with one (a retake's carries the standing result). `data` must hold final marks.
 */
function candidatesOf(data: CohortData, answers: ReadonlyMap<string, EqualitiesAnswers>): Candidate[] {
  const latest = new Map<string, CohortOutcome>();
  // Outcomes come in session order (planned start): a later one replaces an earlier one.
  for (const o of data.outcomes) if (o.observation !== null && answers.has(o.candidate)) latest.set(o.candidate, o);
  return [...latest].map(([ref, o]) => ({ passed: o.observation === 'pass' ? 1 : 0, domains: domainMeans(o), groups: groupsOf(answers.get(ref)!) }));
}

/** Band of each total: quantile cut points, equal totals always in the same band. */
function bands(totals: readonly number[]): (total: number) => string {
  const sorted = [...totals].sort((a, b) => a - b);
  const cuts = Array.from({ length: MATCHING_BANDS - 1 }, (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / MATCHING_BANDS)]!);
  return (total) => String(cuts.filter((c) => total >= c).length);
}

function difFor(characteristic: Characteristic, candidates: readonly Candidate[], items: readonly string[]): EqualitiesDif {
  const members = candidates.filter((c) => c.groups[characteristic] !== undefined);
  const counts = new Map<string, number>();
  for (const c of members) counts.set(c.groups[characteristic]!, (counts.get(c.groups[characteristic]!) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const reference = ranked[0]?.[0] ?? null;
  const focal = ranked.slice(1).map(([g]) => g).sort();
  const focalN = ranked.slice(1).reduce((n, [, k]) => n + k, 0);
  if (reference === null || ranked[0]![1] < SMALLEST_SHOWN_GROUP || focalN < SMALLEST_SHOWN_GROUP) {
    return {
      characteristic,
      reference,
      focal,
      dif: { ok: false, reason: `needs at least ${SMALLEST_SHOWN_GROUP} candidates in the largest group and ${SMALLEST_SHOWN_GROUP} in the other groups together` },
    };
  }
  const found: DifItem[] = [];
  const insufficient: Array<{ item: string; reason: string }> = [];
  for (const item of items) {
    const others = items.filter((i) => i !== item);
    const complete = members.filter((c) => c.domains.has(item) && others.every((o) => c.domains.has(o)));
    const total = (c: Candidate): number => others.reduce((t, o) => t + c.domains.get(o)!, 0);
    const band = bands(complete.map(total));
    // Candidates are numbered here: the analysis needs a label, and no reference may leave.
    const responses: DifResponse[] = complete.map((c, k) => ({
      candidate: String(k),
      group: c.groups[characteristic] === reference ? 'reference' : 'focal',
      item,
      pass: c.domains.get(item)! >= DOMAIN_PASS_RATING ? 1 : 0,
      stratum: band(total(c)),
    }));
    try {
      found.push(...dif(responses).items);
    } catch (error) {
      if (!(error instanceof AnalysisInputError)) throw error;
      insufficient.push({ item, reason: error.message });
    }
  }
  return { characteristic, reference, focal, dif: { ok: true, result: { items: found, insufficient } } };
}

export function equalitiesReport(data: CohortData, answers: ReadonlyMap<string, EqualitiesAnswers>, range: { from: string | null; to: string | null }): EqualitiesReport {
  const candidates = candidatesOf(data, answers);
  const records: SubgroupRecord[] = [];
  CHARACTERISTICS.forEach((characteristic) => {
    candidates.forEach((c, k) => {
      const group = c.groups[characteristic];
      if (group !== undefined) records.push({ candidate: String(k), characteristic, group, passed: c.passed });
    });
  });
  const items: string[] = [];
  for (const c of candidates) for (const item of c.domains.keys()) if (!items.includes(item)) items.push(item);
  return {
    ...range,
    method: DIF_METHOD,
    outcomes:
      records.length === 0
        ? { ok: false, reason: 'no candidate in this range has both an observation outcome and equalities answers' }
        : { ok: true, result: subgroups(records) },
    dif: CHARACTERISTICS.map((characteristic) => difFor(characteristic, candidates, items)),
    itemTitles: Object.fromEntries(items.map((i) => [i, ITEM_TITLES[i] ?? i])),
  };
}
