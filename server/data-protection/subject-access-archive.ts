// The subject access archive: one zip streamed to `out` (an HTTP response, a file), never held
// in memory whole. JSON and a plain-words README are deflated; reports and recordings, already
// compressed, are stored. Each recording is opened only when the zip reaches it, and read with
// backpressure, so a person with hours of recordings costs a read buffer, not their size.
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { candidateReportPdf } from '../moderation/report-pdf.ts';
import { reportInputOf } from '../moderation/report-input.ts';
import type { ModerationService } from '../moderation/moderation-service.ts';
import type { SubjectAccessData, SubjectRecording } from './subject-access.ts';

export interface ArchiveDeps {
  moderation: ModerationService;
  /** The data directory's recordings folder (rows name files relative to it). */
  recordingsDir: string;
  /** A recording's media as stored (decrypted: recordings are encrypted at rest). */
  openRecording: (file: string) => Promise<Readable>;
}

/** What went into the archive (for the audit row and the command's answer). */
export interface ArchiveSummary {
  entries: string[];
  reports: number;
  recordings: number;
  bytes: number;
}

/** Writes the archive to `out`; resolves once all of it is written (rejects if any part fails). */
export async function writeSubjectAccessArchive(deps: ArchiveDeps, data: SubjectAccessData, out: Writable): Promise<ArchiveSummary> {
  // Reports are made before the first byte goes out: a failure is then an error answer, not a cut archive.
  const reports = await Promise.all(data.reports.map(async (r) => ({ path: r.archivePath, pdf: await candidateReportPdf(reportInputOf(deps.moderation, r.facts)) })));
  const zip = new yazl.ZipFile();
  const entries: string[] = [];
  const mtime = new Date(data.person.exportedAt);
  const addJson = (name: string, value: unknown): void => {
    zip.addBuffer(Buffer.from(`${JSON.stringify(value, null, 2)}\n`), name, { mtime });
    entries.push(name);
  };
  zip.addBuffer(Buffer.from(readme(data)), 'README.txt', { mtime });
  entries.push('README.txt');
  addJson('person.json', data.person);
  addJson('records.json', data.records);
  addJson('audit.json', data.audit);
  for (const report of reports) {
    zip.addBuffer(report.pdf, report.path, { mtime, compress: false });
    entries.push(report.path);
  }
  for (const recording of data.recordings) {
    zip.addReadStreamLazy(recording.archivePath, { mtime, compress: false }, (done) => {
      deps.openRecording(path.join(deps.recordingsDir, recording.file)).then(
        (stream) => {
          // yazl leaves a lazy stream's errors unheard: a missing or unreadable file fails the archive.
          stream.once('error', (error) => zip.emit('error', error));
          done(null, stream);
        },
        (error: unknown) => zip.emit('error', error),
      );
    });
    entries.push(recording.archivePath);
  }
  let bytes = 0;
  // Every failing part says so (several recordings may fail): a listener stays for all of them.
  const failed = new Promise<never>((_resolve, reject) => zip.on('error', reject));
  failed.catch(() => undefined);
  zip.end();
  const output = zip.outputStream as Readable;
  output.on('data', (chunk: Buffer) => void (bytes += chunk.length));
  await Promise.race([pipeline(output, out), failed]).catch((error: unknown) => {
    out.destroy(error as Error);
    throw error;
  });
  return { entries, reports: reports.length, recordings: data.recordings.length, bytes };
}

function readme(data: SubjectAccessData): string {
  const p = data.person.person;
  return [
    `Subject access export for ${p.displayName}`,
    `${data.person.organisation.name}, made ${data.person.exportedAt} by SimStudio.`,
    '',
    'What this archive holds:',
    '- person.json: who you are in the studio, your roles, and how you sign in (never a password, key or link).',
    '- records.json: each assessment session you took part in and your role there; for candidates the booking,',
    '  the scenarios sat, the written exercise and, once the result was signed off, every mark about you with its',
    '  reasons, the evidence notes and reviews; for observers what they scored and wrote; for moderators the marks',
    '  they set; test calls, invite links (not the links themselves), consents, equalities answers and emails sent to you.',
    '- audit.json: the audit log rows where you acted or that name you.',
    `- reports/: your feedback report for each signed-off result (${data.reports.length}).`,
    `- recordings/: the recordings you appear in (${data.recordings.length}), as stored (WebM).`,
    '',
    'Other people appear by their role only (for example "Observer 1"): their personal data is not yours to receive.',
    '',
  ].join('\n');
}
