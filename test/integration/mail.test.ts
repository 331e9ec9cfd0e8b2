// Mail (issue 13): the outbox and its delivery loop against a real SMTP server (smtp-server on a
// free port), messages read back with a real MIME parser. Retries are driven by moving the
// mailer's clock, never by waiting for it.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AddressObject } from 'mailparser';
import { pino } from 'pino';
import { startSmtp, type TestSmtp } from '../helpers/smtp-server.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { openStudioDatabase, type Database } from '../../server/db/database.ts';
import type { Logger } from '../../server/log.ts';
import { MailInputError, type OutgoingMail } from '../../server/mail/mail-message.ts';
import { Mailer, type MailerOptions } from '../../server/mail/mailer.ts';
import { freePort } from '../helpers/server-process.ts';
import { startTestStudio } from '../helpers/studio.ts';
import { studioEnv, testDatabaseUrl } from '../helpers/postgres.ts';

const FROM = { name: 'SimStudio', address: 'no-reply@studio.example.org' };
// Long enough to be folded by quoted-printable, with the characters QP and HTML treat specially.
const LINK = 'http://127.0.0.1:3000/auth/magic?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwZXJzb24tNDIiLCJleHAiOjE3OTk5OTk5OTl9.c2lnbmF0dXJl&next=%2Fsessions%2F42%3Ftab%3Dday';
const SIGN_IN: OutgoingMail = {
  organisationId: 'org-1',
  to: 'sam.carter@example.org',
  subject: 'Your sign-in link for SimStudio',
  text: `Hello Sam,\n\nSign in to SimStudio with this link (it works once, for 15 minutes):\n\n${LINK}\n\nIf you did not ask for it, ignore this message.\n`,
  html: `<p>Hello Sam,</p><p><a href="${LINK.replaceAll('&', '&amp;')}">Sign in to SimStudio</a></p>`,
  kind: 'sign-in-link',
};

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((o) => o.value.map((v) => v.address ?? ''));

/** A clock the test moves. */
function testClock(start = Date.parse('2026-12-01T09:00:00.000Z')): { now: () => number; advance(ms: number): void } {
  let at = start;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

function captureLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const toClose: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

function freshDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-mail-'));
}

function open(dataDir: string): Database {
  const db = openStudioDatabase({ dataDir, databaseUrl: testDatabaseUrl(dataDir) });
  toClose.push(() => {
    if (db.isOpen) db.close();
  });
  return db;
}

function mailer(options: Partial<MailerOptions> & Pick<MailerOptions, 'db' | 'smtp'>): Mailer {
  const m = new Mailer({ log: pino({ level: 'silent' }), ...options });
  toClose.push(() => m.close());
  return m;
}

async function smtp(refuseRcpt?: { code: number; message: string }): Promise<TestSmtp> {
  const server = await startSmtp(refuseRcpt);
  toClose.push(() => server.close());
  return server;
}

describe('delivery through SMTP', () => {
  it('sends each queued message once, with its sender, recipient, subject, text and links intact', async () => {
    const server = await smtp();
    const db = open(freshDataDir());
    const m = mailer({ db, smtp: { url: server.url, from: FROM } });
    m.start();
    const ids = [
      m.enqueue(SIGN_IN),
      m.enqueue({ ...SIGN_IN, to: 'alex.morgan@example.org', subject: 'Second', html: undefined }),
      m.enqueue({ ...SIGN_IN, to: 'priya.shah@example.org', subject: 'Third', html: undefined }),
    ];

    await expect.poll(() => ids.map((id) => m.get(id)?.status)).toEqual(['sent', 'sent', 'sent']);
    expect(server.received).toHaveLength(3);
    const first = server.received.find((r) => r.rcptTo[0] === SIGN_IN.to)!;
    expect(first.mailFrom).toBe(FROM.address);
    expect(first.rcptTo).toEqual([SIGN_IN.to]);
    expect(first.mail.from?.value).toEqual([{ name: FROM.name, address: FROM.address }]);
    expect(addresses(first.mail.to)).toEqual([SIGN_IN.to]);
    expect(first.mail.subject).toBe(SIGN_IN.subject);
    expect(first.mail.text).toBe(SIGN_IN.text);
    expect(first.mail.text).toContain(LINK);
    expect(first.mail.html).toContain(`href="${LINK.replaceAll('&', '&amp;')}"`);

    const row = m.get(ids[0]!)!;
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastError: null, nextAttemptAt: null, kind: 'sign-in-link', organisationId: 'org-1' });
    expect(row.messageId).toBe(first.mail.messageId);
    expect(row.sentAt).not.toBeNull();
    // A message without html goes out as text only.
    const second = server.received.find((r) => r.rcptTo[0] === 'alex.morgan@example.org')!;
    expect(second.mail.html).toBe(false);
    expect(second.mail.text).toContain(LINK);
  });

  it('retries a temporary refusal after 1, 5 and 30 minutes, then gives up with the error stored', async () => {
    const server = await smtp({ code: 451, message: 'mailbox busy, try later' });
    const clock = testClock();
    const m = mailer({ db: open(freshDataDir()), smtp: { url: server.url, from: FROM }, now: clock.now });
    const id = m.enqueue(SIGN_IN);
    const startedAt = clock.now();

    await m.deliverDue();
    let row = m.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row.lastError).toContain('451');
    expect(row.lastError).toContain('mailbox busy, try later');
    expect(row.nextAttemptAt).toBe(new Date(startedAt + 60_000).toISOString());

    // Not due yet: nothing is tried.
    clock.advance(59_000);
    await m.deliverDue();
    expect(server.rcptAttempts).toHaveLength(1);
    expect(m.get(id)!.attempts).toBe(1);

    clock.advance(1_000);
    await m.deliverDue();
    row = m.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 2, nextAttemptAt: new Date(clock.now() + 5 * 60_000).toISOString() });

    clock.advance(5 * 60_000);
    await m.deliverDue();
    row = m.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 3, nextAttemptAt: new Date(clock.now() + 30 * 60_000).toISOString() });

    clock.advance(30 * 60_000);
    await m.deliverDue();
    row = m.get(id)!;
    expect(row).toMatchObject({ status: 'failed', attempts: 4, nextAttemptAt: null, sentAt: null, messageId: null });
    expect(row.lastError).toContain('mailbox busy, try later');

    // Failed is final.
    clock.advance(24 * 60 * 60_000);
    await m.deliverDue();
    expect(server.rcptAttempts).toEqual([SIGN_IN.to, SIGN_IN.to, SIGN_IN.to, SIGN_IN.to]);
    expect(server.received).toHaveLength(0);
  });

  it('gives up at once on a permanent refusal (5xx)', async () => {
    const server = await smtp({ code: 550, message: 'no such mailbox' });
    const m = mailer({ db: open(freshDataDir()), smtp: { url: server.url, from: FROM }, now: testClock().now });
    const id = m.enqueue(SIGN_IN);
    await m.deliverDue();
    const row = m.get(id)!;
    expect(row).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
    expect(row.lastError).toContain('550');
    expect(row.lastError).toContain('no such mailbox');
    expect(server.rcptAttempts).toHaveLength(1);
  });

  it('retries when nothing listens, and wrong credentials are retried (the studio can fix them), not final', async () => {
    const deadPort = await freePort();
    const clock = testClock();
    const m = mailer({ db: open(freshDataDir()), smtp: { url: `smtp://127.0.0.1:${deadPort}`, from: FROM }, now: clock.now, retryDelaysMs: [1_000] });
    const id = m.enqueue(SIGN_IN);
    await m.deliverDue();
    expect(m.get(id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(m.get(id)!.lastError).toMatch(/ECONNREFUSED/);
    clock.advance(1_000);
    await m.deliverDue();
    expect(m.get(id)).toMatchObject({ status: 'failed', attempts: 2 });
    expect(m.get(id)!.lastError).toMatch(/ECONNREFUSED/);

    const server = await smtp();
    const wrongPassword = mailer({ db: open(freshDataDir()), smtp: { url: server.url.replace('s3cret', 'wrong'), from: FROM }, now: clock.now });
    const other = wrongPassword.enqueue(SIGN_IN);
    await wrongPassword.deliverDue();
    expect(wrongPassword.get(other)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(wrongPassword.get(other)!.lastError).toMatch(/EAUTH/);
    expect(server.received).toHaveLength(0);
  });

  // The test's own timeout is far above the 300 ms asked for, and far below nodemailer's default
  // (30 s): it fails only if the timeouts are not applied.
  it('does not hang on a server that never greets: the attempt times out and is retried', { timeout: 10_000 }, async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket)); // accepts connections, says nothing
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as net.AddressInfo).port)));
    toClose.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    toClose.push(() => sockets.forEach((socket) => socket.destroy()));
    const m = mailer({
      db: open(freshDataDir()),
      smtp: { url: `smtp://127.0.0.1:${port}`, from: FROM },
      now: testClock().now,
      timeouts: { connectionMs: 30_000, greetingMs: 300, socketMs: 30_000 },
    });
    const id = m.enqueue(SIGN_IN);
    await m.deliverDue();
    expect(m.get(id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(m.get(id)!.lastError).toMatch(/greeting/i);
  });

  it('picks up queued messages after a restart, its attempts kept', async () => {
    const dataDir = freshDataDir();
    const clock = testClock();
    const deadPort = await freePort();
    // First run: the server is down; one message is tried once, another never (the process
    // stops before it is tried).
    const db1 = open(dataDir);
    const before = new Mailer({ db: db1, log: pino({ level: 'silent' }), smtp: { url: `smtp://127.0.0.1:${deadPort}`, from: FROM }, now: clock.now });
    const tried = before.enqueue(SIGN_IN);
    await before.deliverDue();
    expect(before.get(tried)).toMatchObject({ status: 'queued', attempts: 1 });
    const untried = before.enqueue({ ...SIGN_IN, to: 'alex.morgan@example.org' });
    await before.close();
    db1.close();

    // Second run on the same data directory, the server up and the retry due.
    const server = await smtp();
    clock.advance(60_000);
    const after = mailer({ db: open(dataDir), smtp: { url: server.url, from: FROM }, now: clock.now });
    after.start();
    await expect.poll(() => [after.get(tried)?.status, after.get(untried)?.status]).toEqual(['sent', 'sent']);
    expect(after.get(tried)).toMatchObject({ attempts: 2 });
    expect(after.get(tried)!.lastError).toMatch(/ECONNREFUSED/); // the earlier attempt's, kept for the record
    expect(after.get(untried)).toMatchObject({ attempts: 1, lastError: null });
    expect(server.received.map((r) => r.rcptTo[0]).sort()).toEqual(['alex.morgan@example.org', SIGN_IN.to]);
  });

  it('delivers what another process queued on the same data directory', async () => {
    const dataDir = freshDataDir();
    const server = await smtp();
    const running = mailer({ db: open(dataDir), smtp: { url: server.url, from: FROM }, pollMs: 200 });
    running.start();
    await running.deliverDue(); // its first pass has found nothing: it now waits
    // A command-line tool, say, with a connection of its own and no loop.
    const tool = mailer({ db: open(dataDir), smtp: { url: server.url, from: FROM } });
    const id = tool.enqueue(SIGN_IN);
    await expect.poll(() => running.get(id)?.status).toBe('sent');
    expect(server.received.map((r) => r.rcptTo[0])).toEqual([SIGN_IN.to]);
  });
});

describe('in the studio', () => {
  it('delivers at start what was left queued in its data directory, then what is queued while it runs', async () => {
    const dataDir = freshDataDir();
    const server = await smtp();
    // Queued by an earlier run that stopped before delivering it.
    const db = openStudioDatabase({ dataDir, databaseUrl: testDatabaseUrl(dataDir) });
    const left = new Mailer({ db, log: pino({ level: 'silent' }), smtp: null }).enqueue(SIGN_IN);
    db.close();

    const studio = await startTestStudio({ mail: { smtp: { url: server.url, from: FROM }, reminders: [], timeZone: 'Europe/London' } }, dataDir);
    toClose.push(() => studio.close());
    await expect.poll(() => studio.mailer.get(left)?.status).toBe('sent');
    const later = studio.mailer.enqueue({ ...SIGN_IN, to: 'alex.morgan@example.org' });
    await expect.poll(() => studio.mailer.get(later)?.status).toBe('sent');
    expect(server.received.map((r) => r.rcptTo[0])).toEqual([SIGN_IN.to, 'alex.morgan@example.org']);
    expect(studio.logLines.some((l) => l.msg === 'mail: delivering through SMTP' && l.smtpHost === '127.0.0.1')).toBe(true);
    // The password in the URL is never logged.
    expect(studio.logLines.some((l) => JSON.stringify(l).includes('s3cret'))).toBe(false);
  });
});

describe('without SMTP (the embedded default)', () => {
  it('prints the message, link included, to the log and marks it logged; the outbox lists it', async () => {
    const { log, lines } = captureLog();
    const m = mailer({ db: open(freshDataDir()), smtp: null, log });
    m.start();
    const id = m.enqueue(SIGN_IN);
    await expect.poll(() => m.get(id)?.status).toBe('logged');

    const line = lines.find((l) => l.mailId === id && (l.mail as { text?: string } | undefined)?.text !== undefined)!;
    expect(line).toBeDefined();
    expect(line.mail).toEqual({ to: SIGN_IN.to, subject: SIGN_IN.subject, text: SIGN_IN.text });
    expect((line.mail as { text: string }).text).toContain(LINK);
    expect(m.get(id)).toMatchObject({ attempts: 0, lastError: null, messageId: null, nextAttemptAt: null });
    expect(m.get(id)!.sentAt).not.toBeNull();
  });

  it("lists an organisation's mail newest first, apart from other organisations' and the studio's own", async () => {
    const m = mailer({ db: open(freshDataDir()), smtp: null });
    const a1 = m.enqueue({ ...SIGN_IN, subject: 'A1' });
    const b1 = m.enqueue({ ...SIGN_IN, organisationId: 'org-2', subject: 'B1' });
    const a2 = m.enqueue({ ...SIGN_IN, subject: 'A2' });
    const own = m.enqueue({ ...SIGN_IN, organisationId: null, subject: 'Studio' });
    await m.deliverDue();
    expect(m.list('org-1').map((e) => [e.id, e.subject, e.status])).toEqual([
      [a2, 'A2', 'logged'],
      [a1, 'A1', 'logged'],
    ]);
    expect(m.list('org-1', { limit: 1 }).map((e) => e.id)).toEqual([a2]);
    expect(m.list('org-2').map((e) => e.id)).toEqual([b1]);
    expect(m.list(null).map((e) => e.id)).toEqual([own]);
  });
});

describe('what is refused', () => {
  const refused = (m: Mailer, mail: OutgoingMail): string => {
    try {
      m.enqueue(mail);
    } catch (error) {
      expect(error).toBeInstanceOf(MailInputError);
      return (error as MailInputError).code;
    }
    return 'stored';
  };

  it('refuses header injection, bad addresses and out-of-bounds messages, storing nothing', () => {
    const db = open(freshDataDir());
    const m = mailer({ db, smtp: null });
    expect(refused(m, { ...SIGN_IN, subject: 'Hello\r\nBcc: everyone@example.org' })).toBe('header_injection');
    expect(refused(m, { ...SIGN_IN, subject: 'Hello\nX-Injected: 1' })).toBe('header_injection');
    expect(refused(m, { ...SIGN_IN, to: 'sam@example.org\r\nBcc: everyone@example.org' })).toBe('header_injection');
    expect(refused(m, { ...SIGN_IN, to: 'sam@example.org, everyone@example.org' })).toBe('invalid_address');
    expect(refused(m, { ...SIGN_IN, to: 'not an address' })).toBe('invalid_address');
    expect(refused(m, { ...SIGN_IN, subject: 'x'.repeat(201) })).toBe('invalid_message');
    expect(refused(m, { ...SIGN_IN, subject: '   ' })).toBe('invalid_message');
    expect(refused(m, { ...SIGN_IN, text: '' })).toBe('invalid_message');
    expect(refused(m, { ...SIGN_IN, text: 'x'.repeat(100_001) })).toBe('invalid_message');
    expect(refused(m, { ...SIGN_IN, kind: 'Sign In' })).toBe('invalid_message');
    expect(refused(m, { ...SIGN_IN, bcc: 'everyone@example.org' } as OutgoingMail)).toBe('invalid_message');
    expect((db.prepare('SELECT COUNT(*) AS n FROM mail_outbox').get() as { n: number }).n).toBe(0);
    // The same message, well formed, is stored.
    expect(refused(m, SIGN_IN)).toBe('stored');
  });
});

describe('configuration', () => {
  const env = (extra: Record<string, string>) => ({ ...studioEnv(freshDataDir()), ...extra });

  it('reads SMTP settings from the environment, and has none by default', () => {
    expect(loadConfig(env({})).mail.smtp).toBeNull();
    expect(loadConfig(env({ SIMSTUDIO_SMTP_URL: '' })).mail.smtp).toBeNull();
    expect(
      loadConfig(env({ SIMSTUDIO_SMTP_URL: 'smtp://user:pass@mail.example.org:587', SIMSTUDIO_MAIL_FROM: 'SimStudio <no-reply@example.org>' })).mail.smtp,
    ).toEqual({ url: 'smtp://user:pass@mail.example.org:587', from: { name: 'SimStudio', address: 'no-reply@example.org' } });
    expect(loadConfig(env({ SIMSTUDIO_SMTP_URL: 'smtps://mail.example.org', SIMSTUDIO_MAIL_FROM: 'no-reply@example.org' })).mail.smtp?.from).toEqual({
      name: '',
      address: 'no-reply@example.org',
    });
  });

  it('refuses a URL that is not smtp(s), a missing or malformed sender, without echoing the password', () => {
    expect(() => loadConfig(env({ SIMSTUDIO_SMTP_URL: 'http://user:hunter2@mail.example.org' }))).toThrow(/SIMSTUDIO_SMTP_URL/);
    expect(() => loadConfig(env({ SIMSTUDIO_SMTP_URL: 'http://user:hunter2@mail.example.org' }))).not.toThrow(/hunter2/);
    expect(() => loadConfig(env({ SIMSTUDIO_SMTP_URL: 'smtp://mail.example.org' }))).toThrow(/SIMSTUDIO_MAIL_FROM is required/);
    expect(() => loadConfig(env({ SIMSTUDIO_SMTP_URL: 'smtp://mail.example.org', SIMSTUDIO_MAIL_FROM: 'SimStudio <nobody>' }))).toThrow(/SIMSTUDIO_MAIL_FROM/);
    expect(() => loadConfig(env({ SIMSTUDIO_SMTP_URL: 'smtp://mail.example.org', SIMSTUDIO_MAIL_FROM: 'a@b.org\r\nBcc: c@d.org' }))).toThrow(/SIMSTUDIO_MAIL_FROM/);
  });
});
