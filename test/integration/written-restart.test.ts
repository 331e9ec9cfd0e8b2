// Issue 11, row 5: the server is SIGKILLed during the written exercise and is down across its
// deadline and the next hard phase. On startup it closes writing at the stored deadline and
// freezes the last acknowledged text at once (the grace passed while it was down); a later
// phase start does not reopen writing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CLOSE_CODES, WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import { plainText } from '../../shared/written-text.ts';
import { RawCollabClient, collabUrl, typeParagraph } from '../helpers/collab-client.ts';
import {
  bookOnServer,
  cookieFor,
  dayControl,
  dayStateOnConnect,
  freePort,
  inviteOf,
  kill9,
  startServerProcess,
  type ServerDay,
  type ServerProcess,
} from '../helpers/server-process.ts';
import { testTemplate } from '../helpers/assessment.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-written-restart-'));
let server: ServerProcess | undefined;
const ENV = { SIMSTUDIO_WRITTEN_GRACE_SECONDS: '1' };
/** Long enough to open, type and be acknowledged before the deadline on a busy machine. */
const WRITTEN_SECONDS = 15;
const WRITTEN_INDEX = 4;

afterAll(async () => {
  if (server) await kill9(server);
});

/** Two scenarios; the written exercise (hard) is followed by a short hard briefing, then soft phases. */
const TEMPLATE = testTemplate('written-restart', 'Written restart test', 2, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'briefing', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 2, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: WRITTEN_SECONDS, timer: 'hard' },
  { kind: 'break', durationSeconds: 2, timer: 'hard' },
  { kind: 'reflectiveConversation', durationSeconds: 600, timer: 'soft' },
]);

async function status(day: ServerDay): Promise<WrittenStatus> {
  const invite = inviteOf(day, 'candidate');
  const res = await fetch(`${server!.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${invite.participantId}`, {
    headers: { cookie: await cookieFor(invite.link, invite.participantId) },
  });
  return (await res.json()) as WrittenStatus;
}

async function openWritten(day: ServerDay): Promise<RawCollabClient> {
  const invite = inviteOf(day, 'candidate');
  const client = new RawCollabClient(collabUrl(server!.baseUrl, collabDocName(day.sessionId, 'written'), invite.participantId), {
    cookie: await cookieFor(invite.link, invite.participantId),
  });
  await client.opened;
  return client;
}

it('freezes the last acknowledged text at startup when the server was down across the deadline, and no later phase reopens writing', async () => {
  const port = await freePort();
  server = await startServerProcess(dataDir, port, ENV);
  const day = await bookOnServer(server, dataDir, TEMPLATE);

  const { socket: lead } = await dayStateOnConnect(server, inviteOf(day, 'leadObserver'));
  let state = await dayControl(lead, { action: 'start' });
  while (state.phaseIndex < WRITTEN_INDEX) state = await dayControl(lead, { action: 'advance', fromPhaseIndex: state.phaseIndex });
  lead.disconnect();
  const deadline = state.deadline!;

  const candidate = await openWritten(day);
  await candidate.synced;
  typeParagraph(candidate.ydoc, 'Case notes: acknowledged before the crash.');
  // Acknowledged: the server stored it and sent it back.
  await expect.poll(() => plainText(candidate.serverView.getXmlFragment(WRITTEN_FRAGMENT))).toContain('acknowledged before the crash');
  expect(Date.now()).toBeLessThan(deadline);

  await kill9(server);
  // Down across the deadline, the 2 s hard phase after it, and the 1 s grace.
  await new Promise((r) => setTimeout(r, Math.max(0, deadline + 3500 - Date.now())));
  const restartedAt = Date.now();
  server = await startServerProcess(dataDir, port, ENV);

  // The day caught up two phases (written → break → reflective conversation) while down.
  const { state: resumed, socket: lead2 } = await dayStateOnConnect(server, inviteOf(day, 'leadObserver'));
  expect(resumed.phaseIndex).toBe(WRITTEN_INDEX + 2);

  const frozen = await status(day);
  expect(frozen.status).toBe('submitted');
  expect(frozen.frozen?.text).toBe('Case notes: acknowledged before the crash.');
  expect(frozen.frozen!.frozenAt).toBeGreaterThanOrEqual(restartedAt);
  // Closed at the stored deadline, not at a later phase's start.
  expect(frozen.closesAt).toBe(deadline);

  // A later phase starts: writing stays closed, the frozen text stays as it was.
  await dayControl(lead2, { action: 'advance', fromPhaseIndex: resumed.phaseIndex });
  lead2.disconnect();
  const late = await openWritten(day);
  await late.synced;
  typeParagraph(late.ydoc, 'Written after a later phase began.');
  expect(await late.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/^time is up/) });
  const after = await status(day);
  expect(after.status).toBe('submitted');
  expect(after.frozen).toEqual(frozen.frozen);
}, 180_000);
