// The candidate's feedback report and the employer's summary, as PDF (pdfkit). The report
// says the outcome per element, the lead observer's narrative (strengths, areas for
// development) and the level reached in each domain; it never contains observers' notes,
// and names the assessors only where the template says so. DejaVu Sans is embedded so that
// every name prints as written (the PDF standard fonts cover Western European letters only).
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { resultRules, type Template } from '../../shared/assessment.ts';
import { ELEMENT_LABELS, partLabel, type Element, type MarkRow, type Outcome } from '../../shared/moderation.ts';
import { frameworkFor, type RatingLevel } from '../../shared/rubric.ts';

const require = createRequire(import.meta.url);
const FONT = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT_BOLD = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf');

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

function newDocument(title: string): PDFKit.PDFDocument {
  const doc = new PDFDocument({ size: 'A4', margin: 56, info: { Title: title, Author: 'SimStudio' }, bufferPages: true });
  doc.registerFont('body', FONT);
  doc.registerFont('bold', FONT_BOLD);
  doc.font('body').fontSize(10.5);
  return doc;
}

function heading(doc: PDFKit.PDFDocument, text: string, size = 14): void {
  doc.moveDown(0.8).font('bold').fontSize(size).fillColor('#1a1a1a').text(text).font('body').fontSize(10.5).moveDown(0.3);
}

function paragraph(doc: PDFKit.PDFDocument, text: string): void {
  for (const part of text.split(/\n{2,}/)) doc.text(part.trim(), { align: 'left', lineGap: 2 }).moveDown(0.4);
}

function labelled(doc: PDFKit.PDFDocument, label: string, value: string): void {
  doc.font('bold').text(`${label}: `, { continued: true }).font('body').text(value);
}

function finish(doc: PDFKit.PDFDocument, footer: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.height - 40;
    doc.page.margins.bottom = 0;
    doc.font('body').fontSize(8).fillColor('#555555').text(`${footer} · page ${i + 1} of ${range.count}`, 56, bottom, { width: doc.page.width - 112, align: 'center' });
  }
  doc.end();
  return done;
}

function outcomeSection(doc: PDFKit.PDFDocument, input: ReportInput): void {
  heading(doc, 'Your result');
  for (const o of input.outcome) {
    labelled(doc, ELEMENT_LABELS[o.element], `${OUTCOME_WORDS[o.outcome]}${o.carriedOver ? ' (carried over from your earlier assessment)' : ''}`);
  }
  if (input.reviewedAt) doc.moveDown(0.3).text(`This result was decided by an independent review on ${longDate(input.reviewedAt)}.`);
  const failed = input.outcome.filter((o) => o.outcome === 'fail');
  doc.moveDown(0.4);
  if (failed.length === 0) doc.text('You have met the standard in every element of this assessment.');
  else if (failed.length === 1) {
    doc.text(`You may book a retake of the ${ELEMENT_LABELS[failed[0]!.element].toLowerCase()} only; your other result stands. Your coordinator can arrange it.`);
  } else doc.text('You may book a full retake of the assessment. Your coordinator can arrange it.');
}

function levelOf(scale: RatingLevel[], value: number | null): RatingLevel | undefined {
  return scale.find((l) => l.value === value);
}

/** Per domain: the level reached in each part, and what the typical level means. */
function domainSection(doc: PDFKit.PDFDocument, input: ReportInput): void {
  const scale = frameworkFor(input.level).scale;
  const observation = input.rows.filter((r) => r.part !== 'written' && r.part !== 'reflective');
  const reflective = input.rows.filter((r) => r.part === 'reflective');
  const written = input.rows.filter((r) => r.part === 'written');
  if (observation.length > 0) {
    heading(doc, 'Feedback by domain — simulated observation');
    doc.fillColor('#444444').text('Knowledge and Skills Statement domains observed in the scenarios, with the level you reached in each scenario.').fillColor('#1a1a1a');
    const domains = [...new Set(observation.map((r) => r.itemId))];
    for (const id of domains) {
      const rows = observation.filter((r) => r.itemId === id);
      const values = rows.map((r) => r.final).filter((v): v is number => v !== null);
      const typical = levelOf(scale, values.length > 0 ? Math.round(values.reduce((a, b) => a + b, 0) / values.length) : null);
      doc.moveDown(0.5).font('bold').text(rows[0]!.itemTitle).font('body');
      doc.text(rows.map((r) => `${partLabel(r.part)}: ${levelOf(scale, r.final)?.label ?? '—'}`).join(' · '));
      if (typical) doc.fillColor('#444444').text(`Overall, ${typical.label.toLowerCase()}: ${typical.descriptor}`).fillColor('#1a1a1a');
    }
  }
  const reflection = frameworkFor(input.level).reflectionScale;
  for (const r of reflective) {
    heading(doc, 'Reflective conversation', 12);
    const level = levelOf(reflection, r.final);
    doc.text(level ? `${level.label}: ${level.descriptor}` : '—');
  }
  if (written.length > 0) {
    heading(doc, 'Feedback — written exercise');
    for (const r of written) {
      const level = levelOf(scale, r.final);
      doc.moveDown(0.3).font('bold').text(r.itemTitle.replace(/^\d+\.\s*/, '')).font('body');
      doc.text(level ? `${level.label}: ${level.descriptor}` : '—');
    }
  }
}

export function candidateReportPdf(input: ReportInput): Promise<Buffer> {
  const doc = newDocument(`Feedback report — ${input.candidateName}`);
  doc.font('bold').fontSize(18).text('Feedback report').font('body').fontSize(11);
  doc.text(`Simulated observation assessment — child and family ${input.level === 'practitioner' ? 'practitioner' : 'practice supervisor'}`).moveDown(0.6);
  labelled(doc, 'Candidate', input.candidateName);
  if (input.candidateRef) labelled(doc, 'Reference', input.candidateRef);
  labelled(doc, 'Assessed on', longDate(input.assessedOn));
  labelled(doc, 'Result confirmed', longDate(input.signedOffAt));
  if (resultRules(input.template).reportNamesAssessors) {
    labelled(doc, 'Lead observer', input.assessors.leadObserver);
    labelled(doc, 'Moderator', input.assessors.moderator);
  }
  outcomeSection(doc, input);
  heading(doc, 'What you did well');
  paragraph(doc, input.feedback.strengths);
  heading(doc, 'Areas for development');
  paragraph(doc, input.feedback.development);
  domainSection(doc, input);
  return finish(doc, `SimStudio feedback report · ${input.sessionId} · confidential to the candidate`);
}

export function employerSummaryPdf(input: ReportInput): Promise<Buffer> {
  const doc = newDocument(`Result summary — ${input.candidateName}`);
  doc.font('bold').fontSize(18).text('Result summary for the employer').font('body').fontSize(11).moveDown(0.6);
  if (input.employer) labelled(doc, 'Employer', input.employer.name);
  labelled(doc, 'Candidate', input.candidateName);
  if (input.candidateRef) labelled(doc, 'Reference', input.candidateRef);
  labelled(doc, 'Assessed on', longDate(input.assessedOn));
  doc.moveDown(0.3).fillColor('#444444').text('Shared with the candidate’s consent, recorded when the assessment was booked.').fillColor('#1a1a1a');
  outcomeSection(doc, input);
  heading(doc, 'Areas for development');
  paragraph(doc, input.feedback.development);
  return finish(doc, `SimStudio result summary · ${input.sessionId} · confidential`);
}
