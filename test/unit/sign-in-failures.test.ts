// Failed sign-ins are audited in full within a budget per window; beyond it they are counted and
// one row per window says how many were left out (anyone can cause them without signing in).
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { SignInFailures } from '../../server/auth/sign-in-failures.ts';

it('audits 5 a window in full, then one row with the count, also when no failure follows', async () => {
  const rows: Array<{ action: string; detail?: Record<string, unknown> }> = [];
  const lines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  let now = 1_000_000;
  const failures = new SignInFailures({ append: (entry) => void rows.push(entry) }, log, { auditPerWindow: 5, logPerWindow: 3, windowMs: 200, now: () => now });
  const fail = (method: string): void =>
    failures.record({ person: { personId: null, name: 'unknown', role: 'unknown', organisationId: null }, action: 'signin.failed', detail: { method } }, { fields: { method }, message: 'refused' });

  for (let i = 0; i < 50; i++) fail('magic-link');
  expect(rows).toHaveLength(5);
  expect(lines).toHaveLength(3);

  // The next window: the count of the last one first, then a fresh budget.
  now += 200;
  fail('passkey');
  expect(rows[5]).toMatchObject({ action: 'signin.failed.suppressed', detail: { count: 45 } });
  expect(rows[6]).toMatchObject({ action: 'signin.failed', detail: { method: 'passkey' } });
  expect(lines.some((l) => l.includes('"suppressed":47'))).toBe(true);

  // Left out, and nothing follows: the window's end still writes the count.
  for (let i = 0; i < 10; i++) fail('oidc');
  const before = rows.length;
  now += 200;
  await expect.poll(() => rows.length, { timeout: 5000 }).toBe(before + 1);
  expect(rows.at(-1)).toMatchObject({ action: 'signin.failed.suppressed', detail: { count: 6 } });
});
