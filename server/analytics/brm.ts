// Borderline regression standard setting (Pell et al. 2010, AMEE Guide 49): per station,
// regress the checklist score on the observer's global judgement; the station's cut is the score
// the line predicts at the borderline grade; the exam's cut is the mean of the station cuts,
// optionally raised by k standard errors of measurement (SEM from Cronbach's α over stations).
// R: lm(score ~ global) per station; psych::alpha(candidates × stations)$total$raw_alpha.
import type { BrmResult, StationCut } from '../../shared/analytics.ts';
import type { Analysis, OptionValues } from './analysis.ts';
import { AnalysisInputError, labelCell, numberCell, type CsvRow } from './input.ts';

/**
 * The default borderline grade on the studio's 1–7 global scale. The scale has two borderline
 * grades, "3 — Borderline fail" and "4 — Borderline pass", and the rubric fails 3 and below:
 * the standard itself lies between them, so the cut is the score predicted at their midpoint,
 * 3.5. (Taking 3 would set the cut at a failing grade, 4 at a passing one; schemes that want
 * either say so with --borderline.)
 */
export const DEFAULT_BORDERLINE_GLOBAL = 3.5;

export interface StationMark {
  candidate: string;
  station: string;
  score: number;
  global: number;
  /** The CSV line, so a duplicate can be named. */
  line?: number;
}

export interface BrmOptions {
  /** The global grade at which the cut is read off each station's line. */
  borderline: number;
  /** Adds plusSem × SEM to the exam cut (0: the plain mean of station cuts). */
  plusSem: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
/** Sample variance (n − 1). */
function variance(xs: readonly number[]): number {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}

/** Least-squares line y = intercept + slope·x, with R² and the residual standard error √(SSE/(n−2)). */
function regressLine(x: readonly number[], y: readonly number[]): { intercept: number; slope: number; r2: number; rmse: number } {
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxx += (x[i]! - mx) ** 2;
    sxy += (x[i]! - mx) * (y[i]! - my);
    syy += (y[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let sse = 0;
  for (let i = 0; i < x.length; i++) sse += (y[i]! - intercept - slope * x[i]!) ** 2;
  return { intercept, slope, r2: 1 - sse / syy, rmse: Math.sqrt(sse / (x.length - 2)) };
}

/** Raw Cronbach's α of a candidates × items matrix: k/(k−1)·(1 − Σ item variances / total variance). */
export function cronbachAlpha(matrix: readonly (readonly number[])[]): number {
  const k = matrix[0]!.length;
  const itemVariances = Array.from({ length: k }, (_, j) => variance(matrix.map((row) => row[j]!)));
  const totalVariance = variance(matrix.map((row) => row.reduce((s, x) => s + x, 0)));
  return (k / (k - 1)) * (1 - itemVariances.reduce((s, v) => s + v, 0) / totalVariance);
}

const MIN_PER_STATION = 3;

export function brm(marks: readonly StationMark[], options: BrmOptions): BrmResult {
  const byStation = new Map<string, StationMark[]>();
  const byCandidate = new Map<string, Map<string, number>>();
  for (const mark of marks) {
    const scores = byCandidate.get(mark.candidate) ?? new Map<string, number>();
    if (scores.has(mark.station)) {
      throw new AnalysisInputError(`candidate "${mark.candidate}" has a second score at station "${mark.station}": one row per candidate and station`, mark.line !== undefined ? { line: mark.line, column: 'station' } : { column: 'station' });
    }
    scores.set(mark.station, mark.score);
    byCandidate.set(mark.candidate, scores);
    const atStation = byStation.get(mark.station) ?? [];
    atStation.push(mark);
    byStation.set(mark.station, atStation);
  }

  const stations: StationCut[] = [...byStation].map(([station, rows]) => {
    if (rows.length < MIN_PER_STATION) {
      throw new AnalysisInputError(`station "${station}" has ${rows.length} candidate${rows.length === 1 ? '' : 's'}: the regression needs at least ${MIN_PER_STATION}`, { column: 'station' });
    }
    const globals = rows.map((r) => r.global);
    if (globals.every((g) => g === globals[0])) {
      throw new AnalysisInputError(`every global at station "${station}" is ${globals[0]}: the regression needs globals that vary`, { column: 'global' });
    }
    const scores = rows.map((r) => r.score);
    if (scores.every((s) => s === scores[0])) {
      throw new AnalysisInputError(`every score at station "${station}" is ${scores[0]}: the regression needs scores that vary`, { column: 'score' });
    }
    const line = regressLine(globals, scores);
    return { station, n: rows.length, ...line, cut: line.intercept + line.slope * options.borderline };
  });

  if (stations.length < 2) throw new AnalysisInputError(`needs at least 2 stations for Cronbach's alpha (found 1: "${stations[0]!.station}")`, { column: 'station' });
  // Alpha and SEM over the candidates with a score at every station.
  const complete = [...byCandidate.values()].filter((scores) => scores.size === stations.length);
  if (complete.length < 2) {
    throw new AnalysisInputError(`needs at least 2 candidates with a score at every one of the ${stations.length} stations for Cronbach's alpha (found ${complete.length})`, { column: 'candidate' });
  }
  const matrix = complete.map((scores) => stations.map((s) => scores.get(s.station)!));
  const totals = matrix.map((row) => row.reduce((s, x) => s + x, 0));
  if (totals.every((t) => t === totals[0])) {
    throw new AnalysisInputError(`every complete candidate's total is ${totals[0]}: Cronbach's alpha needs totals that vary`, { column: 'score' });
  }
  const alpha = cronbachAlpha(matrix);
  const sem = Math.sqrt(variance(totals)) * Math.sqrt(1 - alpha);
  const examCut = mean(stations.map((s) => s.cut)) + options.plusSem * sem;
  return { stations, examCut, alpha, sem };
}

function numberOption(options: OptionValues, name: string, fallback: number): number {
  const raw = options[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) throw new AnalysisInputError(`--${name} takes a number (got "${String(raw)}")`);
  return value;
}

export const BRM: Analysis<BrmResult> = {
  name: 'brm',
  summary: `Borderline regression: per station score ~ global, cut at --borderline G (default ${DEFAULT_BORDERLINE_GLOBAL}); exam cut, Cronbach's alpha, SEM; --plus-sem k adds k·SEM.`,
  columns: ['candidate', 'station', 'score', 'global'],
  options: { borderline: { type: 'string' }, 'plus-sem': { type: 'string' } },
  run(rows: CsvRow[], options: OptionValues): BrmResult {
    const brmOptions = { borderline: numberOption(options, 'borderline', DEFAULT_BORDERLINE_GLOBAL), plusSem: numberOption(options, 'plus-sem', 0) };
    const marks = rows.map((row): StationMark => ({
      candidate: labelCell(row, 'candidate'),
      station: labelCell(row, 'station'),
      score: numberCell(row, 'score'),
      global: numberCell(row, 'global'),
      line: row.line,
    }));
    return brm(marks, brmOptions);
  },
};
