// Issue 11, row 1 (process side): an exception nobody caught or a rejection nobody handled is
// logged under a budget and the process keeps serving; only a database that cannot be trusted
// ends it. A small real process installs the studio's policy and then misbehaves.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs a script (ES module, from the repository root) and returns its exit code and output lines. */
function run(script: string): Promise<{ code: number | null; lines: string[] }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-policy-')), 'script.ts');
  fs.writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, lines: out.split('\n').filter(Boolean) }));
  });
}

const imports = `
import { createLogger } from ${JSON.stringify(path.join(ROOT, 'server/log.ts'))};
import { installProcessPolicy } from ${JSON.stringify(path.join(ROOT, 'server/process-policy.ts'))};
const log = createLogger('info');
`;

it('keeps running through 1,000 uncaught exceptions and 1,000 unhandled rejections, logging a bounded number of lines', async () => {
  const { code, lines } = await run(`${imports}
installProcessPolicy(log, () => { console.log('onFatal called'); });
for (let i = 0; i < 1000; i++) {
  setImmediate(() => { throw new Error('thrown ' + i); });
  void Promise.reject(new Error('rejected ' + i));
}
// Still serving afterwards: timers run, and the process ends on its own terms.
setTimeout(() => { console.log(JSON.stringify({ alive: true })); process.exit(0); }, 300);
`);
  expect(code).toBe(0);
  expect(lines.some((l) => l.includes('"alive":true'))).toBe(true);
  expect(lines.some((l) => l.includes('onFatal called'))).toBe(false);
  const reported = lines.filter((l) => l.includes('still serving'));
  expect(reported.length).toBeGreaterThan(0);
  expect(reported.length).toBeLessThanOrEqual(20);
  // Without the policy the first one ends the process (Node's default), which is what happened.
  const bare = await run(`setImmediate(() => { throw new Error('thrown'); }); setTimeout(() => console.log('alive'), 300);`);
  expect(bare.code).not.toBe(0);
  expect(bare.lines.includes('alive')).toBe(false);
});

it('closes and exits when the database file cannot be trusted', async () => {
  const notADatabase = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-notadb-')), 'garbage.db');
  fs.writeFileSync(notADatabase, 'this is not an SQLite database, just text that is long enough to have a header'.repeat(20));
  const { code, lines } = await run(`${imports}
import { DatabaseSync } from 'node:sqlite';
installProcessPolicy(log, () => { console.log('onFatal called'); });
setImmediate(() => new DatabaseSync(${JSON.stringify(notADatabase)}).prepare('SELECT * FROM sqlite_master').all());
setTimeout(() => console.log('still here'), 3000);
`);
  expect(code).toBe(1);
  expect(lines.some((l) => l.includes('onFatal called'))).toBe(true);
  expect(lines.some((l) => l.includes('stored state is broken'))).toBe(true);
  expect(lines.includes('still here')).toBe(false);
});
