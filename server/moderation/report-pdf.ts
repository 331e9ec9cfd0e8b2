// The candidate's feedback report and the employer's summary, as PDF (pdfkit). The report
// says the outcome per element, the lead observer's narrative (strengths, areas for
// development) and the level reached in each domain; it never contains observers' notes,
// and names the assessors only where the template says so.
import { resultRules, type Template } from '../../shared/assessment.ts';
import { ELEMENT_LABELS, partLabel, type Element, type MarkRow, type Outcome } from '../../shared/moderation.ts';
import { MEETS_STANDARD, frameworkFor, type RatingLevel } from '../../shared/rubric.ts';
import { ReportWriter } from '../pdf/report-writer.ts';

export interface ReportInput {
  sessionId: string;
  candidateName: string;
  candidateRef: string | null;
  level: 'practitioner' | 'supervisor';
  template: Template;
  assessedOn: number | null;
  /** Per element; carried-over elements say where from. */
  outcome: Array<{ element: Element; outcome: Outcome; carriedOver: boolean }>;
  feedback: { strengths: string; development: string };
  rows: MarkRow[];
  signedOffAt: string;
  /** Set when an independent review decided the standing outcome. */
  reviewedAt: string | null;
  assessors: { leadObserver: string; moderator: string };
  employer: { name: string } | null;
}

const OUTCOME_WORDS: Record<Outcome, string> = { pass: 'Passed', fail: 'Not yet passed' };

function longDate(ms: number | string | null): string {
  if (ms === null) return 'not recorded';
  return new Date(ms).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/London' });
}

function outcomeSection(w: ReportWriter, input: ReportInput): void {
  w.heading('Your result');
  for (const o of input.outcome) {
    w.labelled(ELEMENT_LABELS[o.element], `${OUTCOME_WORDS[o.outcome]}${o.carriedOver ? ' (carried over from your earlier assessment)' : ''}`);
  }
  if (input.reviewedAt) {
    w.moveDown(0.3);
    w.line(`This result was decided by an independent review on ${longDate(input.reviewedAt)}.`);
  }
  const failed = input.outcome.filter((o) => o.outcome === 'fail');
  w.moveDown(0.4);
  if (failed.length === 0) {
    // Passing an element is the mean of its marks: a pass can still hold ratings below the
    // standard, and the report must not say otherwise.
    const below = input.rows.some((r) => r.part !== 'reflective' && r.final !== null && r.final < MEETS_STANDARD);
    w.line(
      below
        ? 'You have passed every element of this assessment. Some ratings were below “Meets the standard”: the feedback by domain below shows where, and what to develop.'
        : 'You have passed every element of this assessment, and met the standard in every domain rated.',
    );
  } else if (failed.length === 1) {
    w.line(`You may book a retake of the ${ELEMENT_LABELS[failed[0]!.element].toLowerCase()} only; your other result stands. Your coordinator can arrange it.`);
  } else w.line('You may book a full retake of the assessment. Your coordinator can arrange it.');
}

function levelOf(scale: RatingLevel[], value: number | null): RatingLevel | undefined {
  return scale.find((l) => l.value === value);
}

/** Per domain: the level reached in each part, and what the typical level means. */
function domainSection(w: ReportWriter, input: ReportInput): void {
  const scale = frameworkFor(input.level).scale;
  const observation = input.rows.filter((r) => r.part !== 'written' && r.part !== 'reflective');
  const reflective = input.rows.filter((r) => r.part === 'reflective');
  const written = input.rows.filter((r) => r.part === 'written');
  if (observation.length > 0) {
    w.heading('Feedback by domain — simulated observation');
    w.line('Knowledge and Skills Statement domains observed in the scenarios, with the level you reached in each scenario.', '#444444');
    const domains = [...new Set(observation.map((r) => r.itemId))];
    for (const id of domains) {
      const rows = observation.filter((r) => r.itemId === id);
      const values = rows.map((r) => r.final).filter((v): v is number => v !== null);
      const typical = levelOf(scale, values.length > 0 ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : null);
      w.moveDown(0.5);
      w.itemTitle(rows[0]!.itemTitle);
      w.line(rows.map((r) => `${partLabel(r.part)}: ${levelOf(scale, r.final)?.label ?? '—'}`).join(' · '));
      if (typical) w.line(`Overall, ${typical.label.toLowerCase()}: ${typical.descriptor}`, '#444444');
    }
  }
  const reflection = frameworkFor(input.level).reflectionScale;
  for (const r of reflective) {
    w.heading('Reflective conversation', 'H3');
    const level = levelOf(reflection, r.final);
    w.line(level ? `${level.label}: ${level.descriptor}` : '—');
  }
  if (written.length > 0) {
    w.heading('Feedback — written exercise');
    for (const r of written) {
      const level = levelOf(scale, r.final);
      w.moveDown(0.3);
      w.itemTitle(r.itemTitle.replace(/^\d+\.\s*/, ''));
      w.line(level ? `${level.label}: ${level.descriptor}` : '—');
    }
  }
}

export function candidateReportPdf(input: ReportInput): Promise<Buffer> {
  const w = new ReportWriter(`Feedback report — ${input.candidateName}`);
  w.title('Feedback report');
  w.line(`Simulated observation assessment — child and family ${input.level === 'practitioner' ? 'practitioner' : 'practice supervisor'}`);
  w.moveDown(0.6);
  w.labelled('Candidate', input.candidateName);
  if (input.candidateRef) w.labelled('Reference', input.candidateRef);
  w.labelled('Assessed on', longDate(input.assessedOn));
  w.labelled('Result confirmed', longDate(input.signedOffAt));
  if (resultRules(input.template).reportNamesAssessors) {
    w.labelled('Lead observer', input.assessors.leadObserver);
    w.labelled('Moderator', input.assessors.moderator);
  }
  outcomeSection(w, input);
  w.heading('What you did well');
  w.paragraph(input.feedback.strengths);
  w.heading('Areas for development');
  w.paragraph(input.feedback.development);
  domainSection(w, input);
  return w.finish(`SimStudio feedback report · ${input.sessionId} · confidential to the candidate`);
}

export function employerSummaryPdf(input: ReportInput): Promise<Buffer> {
  const w = new ReportWriter(`Result summary — ${input.candidateName}`);
  w.title('Result summary for the employer');
  w.moveDown(0.6);
  if (input.employer) w.labelled('Employer', input.employer.name);
  w.labelled('Candidate', input.candidateName);
  if (input.candidateRef) w.labelled('Reference', input.candidateRef);
  w.labelled('Assessed on', longDate(input.assessedOn));
  w.moveDown(0.3);
  w.line('Shared with the candidate’s consent, recorded when the assessment was booked.', '#444444');
  outcomeSection(w, input);
  w.heading('Areas for development');
  w.paragraph(input.feedback.development);
  return w.finish(`SimStudio result summary · ${input.sessionId} · confidential`);
}
