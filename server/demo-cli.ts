// `npm run demo -- --json`: creates a demo session in the data directory and prints its
// invite links (as JSON with --json). The server need not be running; links point at
// SIMSTUDIO_PUBLIC_URL or the configured host and port.
import { loadConfig } from './config.ts';
import { createDemoSession, demoLinks } from './demo.ts';
import { baseUrlFor, openData } from './studio.ts';

const config = loadConfig();
const { db, sessions, invites } = openData(config);
const { sessionId, participants } = createDemoSession(sessions);
const links = await demoLinks(invites, baseUrlFor(config, config.port), sessionId, participants);
db.close();

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(links)}\n`);
} else {
  process.stdout.write(`Demo session ${links.sessionId}\n`);
  for (const [role, link] of Object.entries(links.invites)) {
    process.stdout.write(`  ${role.padEnd(14)} ${Array.isArray(link) ? link.join('\n                 ') : link}\n`);
  }
}
