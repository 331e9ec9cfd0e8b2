// bench/moderation.ts — run by hand: `npm run bench:moderation` (options: -- --sessions 500).
// How long the moderation queue, one moderation view, one sign-off and one candidate report
// (PDF) take with N finished, scored sessions in the database. Uses the same services the
// server runs (no HTTP, no media): the queue builds every session's marks from its rubric
// document, so its cost grows with the number of finished sessions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../server/config.ts';
import { DocStore } from '../server/collab/doc-store.ts';
import { createDemoSession } from '../server/demo.ts';
import { finishDemoDay } from '../server/demo-finished.ts';
import { createLogger } from '../server/log.ts';
import { actingPerson } from '../server/moderation/acting-person.ts';
import { overallFeedback } from '../server/moderation/marks.ts';
import { candidateReportPdf } from '../server/moderation/report-pdf.ts';
import { openAssessment, openData, openModeration } from '../server/studio.ts';
import { WrittenExercise } from '../server/written/written-exercise.ts';

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '500' } } });
const SESSIONS = Number(values.sessions);

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-bench-moderation-'));
const config = loadConfig({ SIMSTUDIO_DATA_DIR: dataDir });
const log = createLogger('warn');
const data = openData(config);
const assessment = openAssessment(data, log);
const store = new DocStore(data.db);
const written = new WrittenExercise({ db: data.db, store, assessment, audit: data.audit, log }, config.written);
const moderation = openModeration(data, { assessment, store, written, log });

const time = <T>(fn: () => T): [T, number] => {
  const start = performance.now();
  const result = fn();
  return [result, performance.now() - start];
};

process.stdout.write(`Seeding ${SESSIONS} finished, scored sessions…\n`);
const [ids, seedMs] = time(() =>
  Array.from({ length: SESSIONS }, () => {
    const { sessionId, participants } = createDemoSession(assessment);
    finishDemoDay({ assessment, store, written }, sessionId, participants);
    return { sessionId, moderator: actingPerson(participants.find((p) => p.role === 'moderator')!) };
  }),
);
process.stdout.write(`  seeded in ${(seedMs / 1000).toFixed(1)} s\n`);

const queueRuns = [0, 1, 2].map(() => time(() => moderation.queue({}))[1]);
const [queue] = time(() => moderation.queue({}));
const [, viewMs] = time(() => moderation.view(ids[0]!.sessionId));
const target = ids[0]!;
for (const itemId of ['written-notes', 'written-risk', 'written-decisions']) {
  moderation.changeMark(target.moderator, target.sessionId, { part: 'written', itemId, rating: 3, rationale: 'Benchmark: clear and analytical.', expected: null });
}
const outcome = Object.fromEntries(moderation.facts(target.sessionId).results.map((r) => [r.element, r.outcome]));
const [, signOffMs] = time(() => moderation.signOff(target.moderator, target.sessionId, { outcome }));
const facts = moderation.facts(target.sessionId);
const pdfStart = performance.now();
const pdf = await candidateReportPdf({
  sessionId: target.sessionId,
  candidateName: facts.candidate?.displayName ?? '',
  candidateRef: facts.plan.candidateRef,
  level: facts.session.level,
  template: facts.plan.template,
  assessedOn: facts.plan.scheduledStart,
  outcome: facts.results.map((r) => ({ element: r.element, outcome: r.outcome ?? 'fail', carriedOver: false })),
  feedback: overallFeedback(facts.rubric),
  rows: facts.rows,
  signedOffAt: new Date().toISOString(),
  reviewedAt: null,
  assessors: { leadObserver: '', moderator: '' },
  employer: null,
});
const pdfMs = performance.now() - pdfStart;

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
process.stdout.write(`\nModeration with ${SESSIONS} finished sessions (${queue.length} in the queue):\n`);
process.stdout.write(`  queue (all sessions, marks rebuilt from each rubric): ${queueRuns.map(fmt).join(' / ')}  (${(queueRuns.reduce((a, b) => a + b) / queueRuns.length / SESSIONS).toFixed(2)} ms per session)\n`);
process.stdout.write(`  one moderation view:                                  ${fmt(viewMs)}\n`);
process.stdout.write(`  sign-off (all checks, one transaction):               ${fmt(signOffMs)}\n`);
process.stdout.write(`  candidate report PDF:                                 ${fmt(pdfMs)} (${(pdf.length / 1024).toFixed(0)} kB, font embedded)\n`);

assessment.close();
data.db.close();
fs.rmSync(dataDir, { recursive: true, force: true });
