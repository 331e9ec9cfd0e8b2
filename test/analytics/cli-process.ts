// `node server/analytics/cli.ts …` as a real child process: it must succeed, print exactly one
// JSON document (one line) on stdout and nothing on stderr.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..', '..');

export function analyseAsProcess<T>(args: readonly string[]): T {
  const child = spawnSync(process.execPath, ['server/analytics/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  expect(child.stdout.endsWith('}\n')).toBe(true);
  expect(child.stdout.trimEnd().split('\n')).toHaveLength(1);
  return JSON.parse(child.stdout) as T;
}
