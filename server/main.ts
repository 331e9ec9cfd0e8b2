// `npm start`: runs the studio. On an empty data directory it creates the demo session and,
// whenever demo mode is on, prints the demo invite links.
import { loadConfig } from './config.ts';
import { createDemoSession, demoLinks, DEMO_TITLE } from './demo.ts';
import { createLogger } from './log.ts';
import { installProcessPolicy } from './process-policy.ts';
import { firstRunSignIn } from './people/first-run.ts';
import { startStudio } from './studio.ts';

const config = loadConfig();
const log = createLogger(config.logLevel);
const studio = await startStudio(config, log);
// From here on nothing a client sends can end the process (startup errors above still do:
// a studio that never came up must not pretend to serve).
installProcessPolicy(log, () => studio.close());

// Before the demo session, so that the demo belongs to the first organisation.
const firstSignIn = firstRunSignIn(studio);
if (firstSignIn) {
  process.stdout.write(
    [
      '',
      'No administrator has signed in yet. One-time administrator sign-in link (24 hours; `npm run admin -- sign-in-link` makes another):',
      `  ${studio.baseUrl}${firstSignIn}`,
      '',
    ].join('\n') + '\n',
  );
}

if (config.demo) {
  const existing = studio.sessions.firstSession();
  const demo =
    existing?.title === DEMO_TITLE
      ? { sessionId: existing.id, participants: studio.sessions.listParticipants(existing.id) }
      : studio.sessions.count() === 0
        ? createDemoSession(studio.assessment)
        : undefined;
  if (demo) {
    const links = await demoLinks(studio.invites, studio.baseUrl, demo.sessionId, demo.participants);
    process.stdout.write(
      [
        '',
        `SimStudio is running at ${studio.baseUrl}`,
        'Demo session — open each link in its own browser tab (the lead observer starts the day):',
        `  Candidate      ${links.invites.candidate}`,
        `  Actor          ${links.invites.actor}`,
        `  Lead observer  ${links.invites.leadObserver}`,
        ...links.invites.observers.map((l) => `  Observer       ${l}`),
        `  Moderator      ${links.invites.moderator}`,
        `  Coordinator    ${links.invites.coordinator}`,
        '',
      ].join('\n') + '\n',
    );
  }
}

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  try {
    await studio.close();
  } finally {
    process.exit(0);
  }
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
