// `npm run demo -- --json`: books a demo session in the data directory and prints its invite
// links (as JSON with --json). With --finished the day is already run and scored, ready for
// moderation. With --cohort N [--seed S] it instead creates N finished, scored sessions over
// the last six months with planted effects (server/analytics/synthetic-cohort.ts) and prints
// what was planted (all of it as JSON with --json). The server need not be running; a running
// one picks the new sessions up on first use. Links point at SIMSTUDIO_PUBLIC_URL or the
// configured host and port.
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { DocStore } from './collab/doc-store.ts';
import { generateCohort } from './analytics/synthetic-cohort.ts';
import { createDemoSession, demoLinks } from './demo.ts';
import { finishDemoDay } from './demo-finished.ts';
import { WrittenExercise } from './written/written-exercise.ts';
import { createLogger } from './log.ts';
import { baseUrlFor, openAssessment, openData } from './studio.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    finished: { type: 'boolean', default: false },
    cohort: { type: 'string' },
    seed: { type: 'string' },
  },
});

function positiveInteger(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    process.stderr.write(`--${name} must be a whole number from 1 to ${max}, not "${text}"\n`);
    process.exit(2);
  }
  return n;
}

const config = loadConfig();
const data = openData(config);

if (args.cohort !== undefined) {
  const sessions = positiveInteger('cohort', args.cohort, 5000);
  const seed = args.seed === undefined ? 1 : positiveInteger('seed', args.seed, 2 ** 31 - 1);
  const truth = generateCohort(data, { sessions, seed });
  data.db.close();
  if (args.json) {
    process.stdout.write(`${JSON.stringify(truth)}\n`);
  } else {
    const first = truth.sessions[0]?.scheduledStart;
    const last = truth.sessions.at(-1)?.scheduledStart;
    const day = (t: number | undefined) => (t === undefined ? '' : new Date(t).toISOString().slice(0, 10));
    process.stdout.write(
      [
        `Synthetic cohort (seed ${truth.seed}): ${truth.sessions.length} finished sessions, ${day(first)} to ${day(last)}, ` +
          `${truth.sessions.filter((s) => s.signedOff).length} signed off, made in ${(truth.elapsedMs / 1000).toFixed(1)} s`,
        `  ratings in submitted sheets: ${truth.submittedRatings} (plus ${truth.draftRatings} in sheets left unsubmitted)`,
        `  planted hawk:          ${truth.hawk} (stringency ${truth.effects.hawk} on the 1–4 scale)`,
        `  planted actor effect:  ${truth.actor} (${truth.effects.actor})`,
        `  planted biased domain: ${truth.difItem} (${truth.effects.dif} for the focal group; ` +
          `${truth.sessions.filter((s) => s.group === 'focal').length} focal candidates, group labels only in --json)`,
        '',
      ].join('\n'),
    );
  }
} else {
  const assessment = openAssessment(data, createLogger('warn'));
  const { sessionId, participants } = createDemoSession(assessment);
  if (args.finished) {
    // A day already run and scored, ready for moderation (see server/demo-finished.ts).
    const store = new DocStore(data.db);
    const written = new WrittenExercise({ db: data.db, store, assessment, audit: data.audit, log: createLogger('warn') }, config.written);
    finishDemoDay({ assessment, store, written }, sessionId, participants);
    assessment.close();
  }
  const links = await demoLinks(data.invites, baseUrlFor(config, config.port), sessionId, participants);
  data.db.close();

  if (args.json) {
    process.stdout.write(`${JSON.stringify(links)}\n`);
  } else {
    process.stdout.write(`Demo session ${links.sessionId}\n`);
    for (const [role, link] of Object.entries(links.invites)) {
      process.stdout.write(`  ${role.padEnd(14)} ${Array.isArray(link) ? link.join('\n                 ') : link}\n`);
    }
  }
}
