// `npm run demo -- --json`: books a demo session in the data directory and prints its invite
// links (as JSON with --json). With --finished the day is already run and scored, ready for
// moderation. The server need not be running; a running one picks the new
// session up on first use. Links point at SIMSTUDIO_PUBLIC_URL or the configured host and port.
import { loadConfig } from './config.ts';
import { DocStore } from './collab/doc-store.ts';
import { createDemoSession, demoLinks } from './demo.ts';
import { finishDemoDay } from './demo-finished.ts';
import { WrittenExercise } from './written/written-exercise.ts';
import { createLogger } from './log.ts';
import { baseUrlFor, openAssessment, openData } from './studio.ts';

const config = loadConfig();
const data = openData(config);
const assessment = openAssessment(data, createLogger('warn'));
const { sessionId, participants } = createDemoSession(assessment);
if (process.argv.includes('--finished')) {
  // A day already run and scored, ready for moderation (see server/demo-finished.ts).
  const store = new DocStore(data.db);
  const written = new WrittenExercise({ db: data.db, store, assessment, audit: data.audit, log: createLogger('warn') }, config.written);
  finishDemoDay({ assessment, store, written }, sessionId, participants);
  assessment.close();
}
const links = await demoLinks(data.invites, baseUrlFor(config, config.port), sessionId, participants);
data.db.close();

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(links)}\n`);
} else {
  process.stdout.write(`Demo session ${links.sessionId}\n`);
  for (const [role, link] of Object.entries(links.invites)) {
    process.stdout.write(`  ${role.padEnd(14)} ${Array.isArray(link) ? link.join('\n                 ') : link}\n`);
  }
}
