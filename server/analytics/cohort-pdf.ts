// The cohort's fairness and consistency report as a tagged PDF: the same panels as the
// analytics page, as headings and sentences (a screen reader reads it in order).
import type { AnalyticsPanel, CohortAnalytics, StringencyResult } from '../../shared/analytics.ts';
import { ReportWriter } from '../pdf/report-writer.ts';

const two = (n: number | null): string => (n === null ? 'undefined' : n.toFixed(2));
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(2)}`;
const percent = (n: number): string => `${Math.round(n * 100)}%`;

function notEnough(w: ReportWriter, panel: AnalyticsPanel<unknown>): panel is { ok: false; reason: string } {
  if (panel.ok) return false;
  w.line(`Not enough data: ${panel.reason}`, '#444444');
  return true;
}

function effects(w: ReportWriter, result: StringencyResult, who: string): void {
  const flagged = result.raters.filter((r) => r.flag);
  w.line(flagged.length === 0 ? `No ${who} stands out.` : `Flagged: ${flagged.map((r) => `${r.rater} (${r.flag})`).join(', ')}.`, flagged.length ? '#a4262c' : '#1a1a1a');
  for (const r of [...result.raters].sort((a, b) => a.effect - b.effect)) {
    w.line(`${r.rater}: effect ${signed(r.effect)} (SE ${two(r.se)}, z ${r.z.toFixed(1)}, ${r.n} ratings)${r.flag ? ` — ${r.flag}` : ''}`);
  }
}

export function cohortReportPdf(a: CohortAnalytics, generatedBy: string, now: Date = new Date()): Promise<Buffer> {
  const w = new ReportWriter('Fairness and consistency — cohort report');
  w.title('Fairness and consistency: cohort report');
  w.labelled('Planned start', a.from || a.to ? `${a.from ?? 'any'} to ${a.to ?? 'any'}` : 'all dates');
  w.labelled('Cohort', `${a.sessions} completed sessions, ${a.ratings} independent observer ratings`);
  w.labelled('Produced', `${now.toISOString().slice(0, 16).replace('T', ' ')} UTC by ${generatedBy}`);

  w.heading('Agreement between observers');
  if (!notEnough(w, a.reliability)) {
    const { form, items } = a.reliability.result;
    w.paragraph(`${form} (Shrout & Fleiss): one-way random effects, one observer. Each candidate is scored by a different pair of observers, so this says how far one observer's rating stands for any other's (0.75 and above is good).`);
    for (const i of items) {
      w.line(`${i.title}: ${form} ${two(i.icc[form])} (95% ${two(i.ci95[form][0])} to ${two(i.ci95[form][1])}), exact agreement ${percent(i.exactAgreement)}, within one point ${percent(i.adjacentAgreement)}, ${i.candidates} performances`);
    }
  }

  w.heading('Observer stringency');
  if (!notEnough(w, a.stringency)) {
    w.paragraph('Each observer’s effect on their ratings once the candidates’ own performance is allowed for (candidate + observer least squares, observers in sum-to-zero coding). Flagged when at least 2 standard errors from the average on 10 or more ratings; negative is harsher (hawk), positive more lenient (dove).');
    effects(w, a.stringency.result, 'observer');
  }

  w.heading('Actor effects');
  if (!notEnough(w, a.actors)) {
    w.paragraph('The same model with the actor who played each scenario in place of the observer: does the outcome depend on who played the scenario?');
    effects(w, a.actors.result, 'actor');
  }

  w.heading('Standard setting: borderline regression');
  if (!notEnough(w, a.brm)) {
    const b = a.brm.result;
    w.paragraph(`Per scenario, each observer’s mean domain rating regressed on their 1–7 global judgement; the cut is the fitted rating at the borderline grade ${b.borderline}.`);
    for (const s of b.stations) {
      w.line(`${b.stationTitles[s.station] ?? s.station}: n ${s.n}, slope ${two(s.slope)}, R² ${two(s.r2)}, RMSE ${two(s.rmse)}, cut ${two(s.cut)}`);
    }
    w.line(`Exam cut ${two(b.examCut)} · Cronbach’s α ${two(b.alpha)} · SEM ${two(b.sem)}`);
  }
  return w.finish('SimStudio cohort report · confidential to the assessment centre');
}
