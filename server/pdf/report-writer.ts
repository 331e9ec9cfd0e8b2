// A tagged A4 report (pdfkit) for the studio's PDFs: the candidate's feedback report, the
// employer's summary and the cohort analytics report. DejaVu Sans is embedded so that every
// name prints as written (the PDF standard fonts cover Western European letters only).
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';

const require = createRequire(import.meta.url);
const FONT = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT_BOLD = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf');

/**
 * A tagged PDF (PDF/UA as far as pdfkit goes): every piece of text sits in a structure element
 * (H1, H2, H3, P) under one Document element, in reading order, and the page footers are
 * artifacts, so that a screen reader reads the report as headings and paragraphs.
 */
export class ReportWriter {
  readonly doc: PDFKit.PDFDocument;
  readonly #root: PDFKit.PDFStructureElement;

  constructor(title: string) {
    this.doc = new PDFDocument({
      size: 'A4',
      margin: 56,
      info: { Title: title, Author: 'SimStudio' },
      bufferPages: true,
      pdfVersion: '1.7',
      // pdfkit 0.20 supports PDF/UA; @types/pdfkit lists only the PDF/A subsets.
      subset: 'PDF/UA' as unknown as PDFKit.PDFDocumentOptions['subset'],
      tagged: true,
      lang: 'en-GB',
      displayTitle: true,
    });
    this.doc.registerFont('body', FONT);
    this.doc.registerFont('bold', FONT_BOLD);
    this.doc.font('body').fontSize(10.5);
    this.#root = this.doc.struct('Document');
    this.doc.addStructure(this.#root);
  }

  #tagged(type: string): PDFKit.Mixins.TextOptions {
    return { structParent: this.#root, structType: type } as PDFKit.Mixins.TextOptions;
  }

  title(text: string): void {
    this.doc.font('bold').fontSize(18).fillColor('#1a1a1a').text(text, this.#tagged('H1')).font('body').fontSize(11);
  }

  heading(text: string, level: 'H2' | 'H3' = 'H2'): void {
    const size = level === 'H2' ? 14 : 12;
    this.doc.moveDown(0.8).font('bold').fontSize(size).fillColor('#1a1a1a').text(text, this.#tagged(level)).font('body').fontSize(10.5).moveDown(0.3);
  }

  /** A short bold title of an item (a domain) within a section. */
  itemTitle(text: string): void {
    this.doc.font('bold').text(text, this.#tagged('H3')).font('body');
  }

  line(text: string, colour = '#1a1a1a'): void {
    this.doc.fillColor(colour).text(text, this.#tagged('P')).fillColor('#1a1a1a');
  }

  paragraph(text: string): void {
    for (const part of text.split(/\n{2,}/)) this.doc.text(part.trim(), { ...this.#tagged('P'), align: 'left', lineGap: 2 }).moveDown(0.4);
  }

  labelled(label: string, value: string): void {
    this.doc.font('bold').text(`${label}: `, { ...this.#tagged('P'), continued: true }).font('body').text(value);
  }

  moveDown(lines: number): void {
    this.doc.moveDown(lines);
  }

  finish(footer: string): Promise<Buffer> {
    const doc = this.doc;
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
      doc.markContent('Artifact', { type: 'Pagination' });
      doc.font('body').fontSize(8).fillColor('#555555').text(`${footer} · page ${i + 1} of ${range.count}`, 56, bottom, { width: doc.page.width - 112, align: 'center' });
      doc.endMarkedContent();
    }
    doc.end();
    return done;
  }
}
