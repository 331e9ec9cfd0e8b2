// Written exercise deadlines that cannot be reopened (issue 11, rows 6, 7, 14), on the raw
// y-websocket protocol against a real server. Writing is closed by the lead observer moving
// on (or pausing) wherever a test needs time, so nothing here races a phase timer; the grace
// is long (20 s) and only the soft-phase test waits for a deadline of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { CLOSE_CODES, SYNC_UPDATE, WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { plainText } from '../../shared/written-text.ts';
import { bookDay, bookShortDay, shortTemplate, type BookedDay } from '../helpers/assessment.ts';
import { RawCollabClient, sync, typeParagraph } from '../helpers/collab-client.ts';
import { openWritten, storedWrittenText, writtenStatus } from '../helpers/written.ts';
import { connectAs, request, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
/** Text cap 4 kB: the stored document may hold 5× that, 20 kB. */
const MAX_TEXT_BYTES = 4000;
const MAX_DOC_BYTES = MAX_TEXT_BYTES * 5;
const WRITTEN_INDEX = 4;

beforeAll(async () => {
  studio = await startTestStudio({ written: { graceMs: 20_000, maxTextBytes: MAX_TEXT_BYTES } });
});
afterAll(async () => {
  await studio.close();
});

const open = (day: BookedDay, reuse?: RawCollabClient): Promise<RawCollabClient> => openWritten(studio, day, day.candidate, reuse);

function serverText(day: BookedDay): string {
  const doc = studio.collab.doc(collabDocName(day.sessionId, 'written'));
  return doc ? plainText(doc.getXmlFragment(WRITTEN_FRAGMENT)) : storedText(day);
}

const storedText = (day: BookedDay): string => storedWrittenText(studio, day);

/** Bytes the database holds for the written document (snapshot + logged updates). */
function storedBytes(day: BookedDay): number {
  const name = collabDocName(day.sessionId, 'written');
  const snapshot = studio.db.prepare('SELECT LENGTH(state) AS n FROM collab_snapshots WHERE doc = ?').get(name) as { n: number } | undefined;
  const updates = studio.db.prepare('SELECT COALESCE(SUM(LENGTH(update_data)), 0) AS n FROM collab_updates WHERE doc = ?').get(name) as { n: number };
  return (snapshot?.n ?? 0) + updates.n;
}

const status = (day: BookedDay, who: Participant = day.candidate): Promise<WrittenStatus> => writtenStatus(studio, day, who);

async function control(lead: ClientSocket, payload: Parameters<typeof request<'dayControl'>>[2]): Promise<void> {
  const result = await request(lead, 'dayControl', payload);
  if (!result.ok) throw new Error(`${payload.action}: ${result.error.message}`);
}

/** A day whose phases last 10 minutes: only the lead observer moves it on. */
async function longDayAtWrittenExercise(): Promise<{ day: BookedDay; lead: ClientSocket }> {
  const day = bookShortDay(studio, 600);
  const lead = await connectAs(studio, day.lead);
  await control(lead, { action: 'start' });
  for (let i = 0; i < WRITTEN_INDEX; i++) await control(lead, { action: 'advance', fromPhaseIndex: i });
  return { day, lead };
}

/** The server has handled the candidate's disconnection: nobody holds the document open. */
async function serverReleased(day: BookedDay): Promise<void> {
  await expect.poll(() => studio.collab.openDocs().includes(collabDocName(day.sessionId, 'written'))).toBe(false);
}

describe('grace only for a candidate disconnected at the deadline (row 6)', () => {
  it('a candidate connected at the deadline who reconnects after it cannot write', async () => {
    const { day, lead } = await longDayAtWrittenExercise();
    const candidate = await open(day);
    await candidate.synced;
    typeParagraph(candidate.ydoc, 'Sent while connected.');
    await expect.poll(() => plainText(candidate.serverView.getXmlFragment(WRITTEN_FRAGMENT))).toContain('Sent while connected.');

    // Writing closes while this connection is open.
    await control(lead, { action: 'advance', fromPhaseIndex: WRITTEN_INDEX });
    lead.disconnect();
    expect((await status(day)).status).toBe('grace');

    // Drop the connection, keep typing, reconnect inside the grace: nothing gets in.
    candidate.close();
    await candidate.closed;
    await serverReleased(day);
    typeParagraph(candidate.ydoc, 'Typed after the deadline.');
    const again = await open(day, candidate);
    expect(await again.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/^time is up/) });
    expect(serverText(day)).toBe('Sent while connected.');
  });

  it('a candidate offline at the deadline delivers offline work in its reconnect sync, and nothing after it', async () => {
    const { day, lead } = await longDayAtWrittenExercise();
    const candidate = await open(day);
    await candidate.synced;
    typeParagraph(candidate.ydoc, 'Online part.');
    await expect.poll(() => plainText(candidate.serverView.getXmlFragment(WRITTEN_FRAGMENT))).toContain('Online part.');
    candidate.close();
    await candidate.closed;
    await serverReleased(day);
    typeParagraph(candidate.ydoc, 'Written offline before the deadline.');

    await control(lead, { action: 'advance', fromPhaseIndex: WRITTEN_INDEX });
    lead.disconnect();
    expect((await status(day)).status).toBe('grace');

    const again = await open(day, candidate);
    await again.synced;
    await expect.poll(() => serverText(day)).toContain('Written offline before the deadline.');
    // The connection's next change is new typing: refused, and not stored.
    typeParagraph(again.ydoc, 'New typing after the reconnect.');
    expect(await again.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/^time is up/) });
    expect(serverText(day)).not.toContain('New typing');
    expect(storedText(day)).toBe('Online part.\nWritten offline before the deadline.');
  });

  it('who was connected at the deadline is stored with the close: a restart inside the grace gives no grace either', async () => {
    const { day, lead } = await longDayAtWrittenExercise();
    const candidate = await open(day);
    await candidate.synced;
    await control(lead, { action: 'advance', fromPhaseIndex: WRITTEN_INDEX });
    lead.disconnect();
    expect(studio.db.prepare('SELECT candidate_online FROM written_state WHERE session_id = ?').get(day.sessionId)).toEqual({ candidate_online: 1 });

    const dataDir = studio.dataDir;
    await studio.close();
    await candidate.closed;
    studio = await startTestStudio({ written: { graceMs: 20_000, maxTextBytes: MAX_TEXT_BYTES } }, dataDir);
    expect((await status(day)).status).toBe('grace');
    typeParagraph(candidate.ydoc, 'Typed while the server restarted.');
    const again = await open(day, candidate);
    expect(await again.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/^time is up/) });
    expect(storedText(day)).toBe('');
  });
});

describe('paused means no writing; a soft written phase has a deadline (row 14)', () => {
  it('refuses writing while the day is paused and accepts it again after resume', async () => {
    const { day, lead } = await longDayAtWrittenExercise();
    const candidate = await open(day);
    await candidate.synced;
    typeParagraph(candidate.ydoc, 'Before the pause.');
    await expect.poll(() => serverText(day)).toBe('Before the pause.');

    await control(lead, { action: 'pause', reason: 'fire alarm' });
    expect((await status(day)).status).toBe('paused');
    typeParagraph(candidate.ydoc, 'During the pause.');
    expect(await candidate.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/paused/) });
    expect(serverText(day)).toBe('Before the pause.');
    // A new connection while paused may read but not write.
    const whilePaused = await open(day, candidate);
    expect(await whilePaused.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/paused/) });
    expect(serverText(day)).toBe('Before the pause.');

    await control(lead, { action: 'resume' });
    lead.disconnect();
    expect((await status(day)).status).toBe('open');
    // What was refused during the pause was kept on the device and goes out now.
    const resumed = await open(day, candidate);
    await resumed.synced;
    await expect.poll(() => serverText(day)).toBe('Before the pause.\nDuring the pause.');
    typeParagraph(resumed.ydoc, 'After the resume.');
    await expect.poll(() => serverText(day)).toContain('After the resume.');
    resumed.close();
  });

  it('a soft-timer written phase closes writing at its deadline (duration + extra time) while the day waits for the lead', async () => {
    const soft = shortTemplate(2, 'soft-written-2s');
    soft.phases = soft.phases.map((p) => (p.kind === 'writtenExercise' ? { ...p, timer: 'soft' as const } : { ...p, durationSeconds: 600, timer: 'soft' as const }));
    const template = studio.templates.latest(soft.id) ?? studio.templates.saveNewVersion(soft);
    const day = bookDay(studio, template.id, { adjustments: { extraTimePercent: 50, restBreakMinutes: 0, notes: 'extra time' } });
    const lead = await connectAs(studio, day.lead);
    await control(lead, { action: 'start' });
    for (let i = 0; i < WRITTEN_INDEX; i++) await control(lead, { action: 'advance', fromPhaseIndex: i });
    lead.disconnect();

    const state = studio.assessment.dayState(day.sessionId)!;
    const opened = await status(day);
    // 2 s + 50 % extra time.
    expect(opened.closesAt! - state.phaseStartedAt!).toBe(3000);

    await expect.poll(async () => (await status(day)).status, { timeout: 15_000 }).toBe('grace');
    // The day has not moved on (soft timer), but writing has closed at the deadline.
    expect(studio.assessment.dayState(day.sessionId)!.phaseIndex).toBe(WRITTEN_INDEX);
    expect((await status(day)).closesAt).toBe(opened.closesAt);
    const late = await open(day);
    await late.synced;
    typeParagraph(late.ydoc, 'After the soft deadline.');
    expect(await late.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/^time is up/) });
    expect(serverText(day)).toBe('');
    const closed = studio.db.prepare('SELECT closed_at FROM written_state WHERE session_id = ?').get(day.sessionId) as { closed_at: number };
    expect(closed.closed_at).toBe(opened.closesAt);
  });
});

describe('size caps count the whole update and document (row 7)', () => {
  it('an attribute-only flood is refused before the document passes its byte cap; the server keeps answering', async () => {
    const { day, lead } = await longDayAtWrittenExercise();
    lead.disconnect();
    const floods: Array<{ sent: number; closed: { code: number; reason: string } }> = [];
    for (let round = 0; round < 2; round++) {
      const attacker = await open(day);
      await attacker.synced;
      const fragment = attacker.ydoc.getXmlFragment(WRITTEN_FRAGMENT);
      if (fragment.length === 0) typeParagraph(attacker.ydoc, 'x');
      const paragraph = fragment.get(0) as Y.XmlElement;
      // Each update sets one new 2 kB attribute: no text at all, 400 kB in total.
      let sent = 0;
      for (let i = 0; i < 200 && attacker.ws.readyState === attacker.ws.OPEN; i++) {
        paragraph.setAttribute(`a${round}-${i}`, 'y'.repeat(2048));
        sent++;
        // Under the per-connection message rate (200/s): the size cap is what must stop it.
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 250));
      }
      floods.push({ sent, closed: await attacker.closed });
    }
    for (const flood of floods) expect(flood.closed).toMatchObject({ code: CLOSE_CODES.BadRequest, reason: expect.stringMatching(/over the 20 kB limit/) });
    expect(storedBytes(day)).toBeLessThanOrEqual(MAX_DOC_BYTES);
    expect(studio.docStore.storedBytes(collabDocName(day.sessionId, 'written'))).toBe(storedBytes(day));

    const started = Date.now();
    const health = await fetch(`${studio.baseUrl}/api/health`, { signal: AbortSignal.timeout(5000) });
    expect(health.ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    // The text written before the flood is intact.
    expect(storedText(day)).toBe('x');
  });

  it('refuses structs outside the exercise fragment and structs Yjs would keep pending, storing nothing', async () => {
    const { day, lead } = await longDayAtWrittenExercise();
    lead.disconnect();
    const before = storedBytes(day);

    const other = new Y.Doc();
    other.getMap('elsewhere').set('k', 'v');
    const a = await open(day);
    await a.synced;
    a.send(sync(SYNC_UPDATE, Y.encodeStateAsUpdate(other)));
    expect(await a.closed).toMatchObject({ code: CLOSE_CODES.BadRequest, reason: expect.stringMatching(/not part of the written exercise/) });

    // Two edits of one client; only the second is sent: its first clock is a gap on the server.
    const gap = new Y.Doc();
    typeParagraph(gap, 'first');
    const afterFirst = Y.encodeStateVector(gap);
    typeParagraph(gap, 'second');
    const b = await open(day);
    await b.synced;
    b.send(sync(SYNC_UPDATE, Y.encodeStateAsUpdate(gap, afterFirst)));
    expect(await b.closed).toMatchObject({ code: CLOSE_CODES.BadRequest, reason: expect.stringMatching(/skips part of its history/) });

    // Neither reached storage: a reload has no other root and nothing pending.
    await serverReleased(day);
    const { ydoc } = studio.docStore.load(collabDocName(day.sessionId, 'written'));
    expect([...ydoc.share.keys()].filter((k) => k !== WRITTEN_FRAGMENT)).toEqual([]);
    expect(ydoc.store.pendingStructs).toBeNull();
    ydoc.destroy();
    // (Each connection's empty SyncStep2 is logged, a couple of bytes; the refused updates are not.)
    expect(storedBytes(day) - before).toBeLessThan(8);
  });
});
