// Mantel–Haenszel differential item functioning (Holland & Thayer 1988) with the ETS A/B/C
// classes: per item, candidates matched on a stratum (a score band), reference against focal.
import type { DifItem, DifResult } from '../../shared/analytics.ts';
import type { Analysis } from './analysis.ts';
import { normalCdf } from './distributions.ts';
import { AnalysisInputError, binaryCell, choiceCell, labelCell, type CsvRow } from './input.ts';
import { mantelHaenszel, type TwoByTwo } from './mantel-haenszel.ts';

export const DIF_GROUPS = ['reference', 'focal'] as const;

export interface DifResponse {
  candidate: string;
  group: (typeof DIF_GROUPS)[number];
  item: string;
  pass: 0 | 1;
  stratum: string;
  /** The CSV line it came from, so that a refusal can name it (absent for stored ratings). */
  line?: number;
}

/** The ETS delta scale: Δ = −2.35 ln α (negative when the item favours the reference group). */
const DELTA_PER_LN_ALPHA = -2.35;
const SIGNIFICANCE = 0.05;

function refuse(message: string, response: DifResponse, column: string): never {
  throw new AnalysisInputError(message, { ...(response.line !== undefined ? { line: response.line } : {}), column });
}

/**
 * ETS class: A when |Δ| < 1 or the MH χ² is not significant; C when |Δ| ≥ 1.5 and |Δ| is
 * significantly above 1 (one-sided z = (|Δ| − 1)/SE); B otherwise.
 */
export function etsClass(deltaMH: number, se: number, chiSquareP: number): DifItem['class'] {
  const size = Math.abs(deltaMH);
  if (size < 1 || chiSquareP >= SIGNIFICANCE) return 'A';
  const aboveOneP = 1 - normalCdf((size - 1) / se);
  return size >= 1.5 && aboveOneP < SIGNIFICANCE ? 'C' : 'B';
}

export interface DifItemTables {
  item: string;
  /** The item's first response (a refusal about the item names its row). */
  first: DifResponse;
  /** One 2×2 per stratum that holds both groups, the only ones that enter the sums. */
  tables: TwoByTwo[];
}

/** Per item, in the order items first appear: the 2×2 table of each stratum holding both groups. */
export function difTables(responses: readonly DifResponse[]): DifItemTables[] {
  const groupOf = new Map<string, DifResponse>();
  const byItem = new Map<string, { first: DifResponse; seen: Set<string>; strata: Map<string, TwoByTwo> }>();
  for (const response of responses) {
    const earlier = groupOf.get(response.candidate);
    if (earlier && earlier.group !== response.group) {
      refuse(`candidate "${response.candidate}" is ${response.group} here but ${earlier.group}${earlier.line !== undefined ? ` on row ${earlier.line}` : ''}`, response, 'group');
    }
    if (!earlier) groupOf.set(response.candidate, response);
    let item = byItem.get(response.item);
    if (!item) byItem.set(response.item, (item = { first: response, seen: new Set(), strata: new Map() }));
    if (item.seen.has(response.candidate)) refuse(`candidate "${response.candidate}" answers item "${response.item}" twice`, response, 'candidate');
    item.seen.add(response.candidate);
    let table = item.strata.get(response.stratum);
    if (!table) item.strata.set(response.stratum, (table = { a: 0, b: 0, c: 0, d: 0 }));
    if (response.group === 'reference') {
      if (response.pass) table.a++;
      else table.b++;
    } else if (response.pass) table.c++;
    else table.d++;
  }
  return [...byItem].map(([item, { first, strata }]) => ({
    item,
    first,
    tables: [...strata.values()].filter((t) => t.a + t.b > 0 && t.c + t.d > 0),
  }));
}

/** Items in the order they first appear; each on the strata that hold both groups. */
export function dif(responses: readonly DifResponse[]): DifResult {
  const items: DifItem[] = [];
  for (const { item, first, tables } of difTables(responses)) {
    if (tables.length === 0) {
      refuse(`item "${item}" has no stratum holding both groups (needs at least one stratum with a reference and a focal candidate)`, first, 'stratum');
    }
    const mh = mantelHaenszel(tables);
    if (!(mh.alpha > 0 && Number.isFinite(mh.alpha))) {
      // α_MH needs both kinds of discordant pair somewhere; without one it is 0, ∞ or 0/0.
      const missing = Number.isNaN(mh.alpha)
        ? 'where the reference candidates pass and the focal ones fail, nor one where it is the other way round'
        : mh.alpha === 0 ? 'where a reference candidate passes and a focal one fails' : 'where a reference candidate fails and a focal one passes';
      refuse(`item "${item}" has no stratum ${missing}, so its Mantel–Haenszel odds ratio is not finite (needs at least one stratum of each kind)`, first, 'pass');
    }
    const deltaMH = DELTA_PER_LN_ALPHA * Math.log(mh.alpha);
    const se = Math.abs(DELTA_PER_LN_ALPHA) * Math.sqrt(mh.lnAlphaVariance);
    items.push({ item, alphaMH: mh.alpha, deltaMH, se, class: etsClass(deltaMH, se, mh.p), strata: tables.length });
  }
  return { items };
}

export const difAnalysis: Analysis<DifResult> = {
  name: 'dif',
  summary: 'Mantel–Haenszel DIF per item (α_MH, Δ_MH, its SE, ETS class A/B/C), reference against focal within strata.',
  columns: ['candidate', 'group', 'item', 'pass', 'stratum'],
  options: {},
  run(rows: CsvRow[]): DifResult {
    return dif(
      rows.map((row) => ({
        candidate: labelCell(row, 'candidate'),
        group: choiceCell(row, 'group', DIF_GROUPS),
        item: labelCell(row, 'item'),
        pass: binaryCell(row, 'pass'),
        stratum: labelCell(row, 'stratum'),
        line: row.line,
      })),
    );
  },
};
