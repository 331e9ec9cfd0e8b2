// A booking change is stored before its email is composed, and stays "not yet notified" until
// the email is queued: a studio that stopped in between (here: the event stored as a crash would
// leave it) tells people at its next start, once, and sends nothing twice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { parseReminderOffsets } from '../../server/mail/schedule-settings.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { startSmtp, type TestSmtp } from '../helpers/smtp-server.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';
import { connectToStudioDatabase } from '../helpers/postgres.ts';

let smtp: TestSmtp | undefined;
let studio: TestStudio | undefined;
afterAll(async () => {
  await studio?.close();
  await smtp?.close();
});

it('hands an event left unnotified by a stop over at the next start, and sends nothing twice', async () => {
  smtp = await startSmtp();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-booking-events-'));
  const base = loadConfig({});
  const config = { mail: { ...base.mail, smtp: { url: smtp.url, from: { name: 'SimStudio', address: 'no-reply@studio.example' } }, reminders: parseReminderOffsets('1d'), timeZone: 'Europe/London' } };
  studio = await startTestStudio(config, dataDir);
  studio.templates.saveNewVersion(shortTemplate(3));
  const orgId = studio.people.createOrganisation('Westmere Council').id;
  const candidate = studio.people.create(orgId, { displayName: 'Casey Candidate', email: 'casey@home.example', roles: ['candidate'], candidateRef: 'WM-0001' });
  const { sessionId } = studio.assessment.book(
    booking('short-3s', { scheduledStart: new Date(Date.now() + 7 * 86_400_000).toISOString(), candidate: { displayName: 'Casey Candidate', candidateRef: 'WM-0001', personId: candidate.id } }),
    Math.random,
    orgId,
  );
  await studio.notifications.settled();
  await expect.poll(() => smtp!.received.length, { timeout: 15_000 }).toBe(1);
  expect(smtp.received[0]!.mail.subject).toMatch(/^Invitation/);
  const unnotified = (): number => (studio!.db.prepare('SELECT COUNT(*) AS n FROM booking_events WHERE notified_at IS NULL').get() as { n: number }).n;
  expect(unnotified()).toBe(0);

  // The session is cancelled and the studio stops before its email was queued.
  await studio.close();
  studio = undefined;
  const db = connectToStudioDatabase(dataDir);
  db.prepare('INSERT INTO booking_events (session_id, event, created_at) VALUES (?, ?, ?)').run(
    sessionId,
    JSON.stringify({ kind: 'cancelled', sessionId, organisationId: orgId, reason: 'the candidate withdrew' }),
    Date.now(),
  );
  db.close();

  studio = await startTestStudio(config, dataDir);
  await expect.poll(() => smtp!.received.length, { timeout: 15_000 }).toBe(2);
  expect(smtp.received[1]!.mail.subject).toMatch(/^Cancelled/);
  expect(smtp.received[1]!.mail.text).toContain('the candidate withdrew');
  await studio.notifications.settled();
  expect(unnotified()).toBe(0);
  // Nothing else was queued: the invitation, notified before the stop, is not sent again.
  expect(studio.db.prepare('SELECT kind FROM mail_outbox ORDER BY id').all().map((r) => (r as { kind: string }).kind)).toEqual(['invitation', 'booking-cancelled']);
});
