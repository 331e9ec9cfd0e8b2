// The written exercise on the raw protocol: only the candidate writes, only inside the window
// the server keeps (phase deadline incl. extra time, plus a reconnection grace for clients that
// were disconnected at the deadline); then the server freezes text, Yjs state and SHA-256.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { plainText } from '../../shared/written-text.ts';
import { bookShortDay, type BookedDay } from '../helpers/assessment.ts';
import { RawCollabClient, typeParagraph } from '../helpers/collab-client.ts';
import { openWritten, storedWrittenText, writtenStatus } from '../helpers/written.ts';
import { connectAs, request, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
/** Long enough that reconnecting inside it never races it on a busy machine. */
const GRACE_MS = 5000;

beforeAll(async () => {
  studio = await startTestStudio({ written: { graceMs: GRACE_MS, maxTextBytes: 2000 } });
});
afterAll(async () => {
  await studio.close();
});

const open = (day: BookedDay, who: Participant, reuse?: RawCollabClient): Promise<RawCollabClient> => openWritten(studio, day, who, reuse);

function serverText(day: BookedDay): string {
  const doc = studio.collab.doc(collabDocName(day.sessionId, 'written'));
  return doc ? plainText(doc.getXmlFragment(WRITTEN_FRAGMENT)) : '';
}

/** Runs the day to the written exercise (phase 4 of the short template). */
async function toWrittenExercise(day: BookedDay): Promise<void> {
  const lead = await connectAs(studio, day.lead);
  await request(lead, 'dayControl', { action: 'start' });
  for (let i = 0; i < 4; i++) await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: i });
  lead.disconnect();
}

const status = (day: BookedDay, who: Participant): Promise<WrittenStatus> => writtenStatus(studio, day, who);

describe('written exercise window', () => {
  it('the candidate writes in the window; after the deadline nothing changes; the frozen text matches its SHA-256 and survives a restart', async () => {
    // 6 s phases: time to open, type and be acknowledged before the hard deadline.
    const day = bookShortDay(studio, 6);
    const early = await open(day, day.candidate);
    await early.synced;
    typeParagraph(early.ydoc, 'too early');
    expect(await early.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });

    await toWrittenExercise(day);
    expect((await status(day, day.candidate)).status).toBe('open');
    const candidate = await open(day, day.candidate);
    await candidate.synced;
    typeParagraph(candidate.ydoc, 'Case notes: Daniel (8) seen at home with his mother.');
    await expect.poll(() => serverText(day)).toContain('Daniel (8)');

    // Observers cannot open it before submission; actors never.
    const observerEarly = await open(day, day.observer);
    expect(await observerEarly.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    const actor = await open(day, day.actor1);
    expect(await actor.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });

    // The phase ends by its hard timer; the still-connected candidate gets no grace.
    await expect.poll(async () => (await status(day, day.candidate)).status, { timeout: 10_000 }).not.toBe('open');
    typeParagraph(candidate.ydoc, 'written after the deadline');
    expect(await candidate.closed).toMatchObject({ code: CLOSE_CODES.Forbidden, reason: expect.stringMatching(/time is up/) });

    await expect.poll(async () => (await status(day, day.candidate)).status, { timeout: 10_000 }).toBe('submitted');
    const submitted = await status(day, day.candidate);
    expect(submitted.frozen?.text).toBe('Case notes: Daniel (8) seen at home with his mother.');
    expect(submitted.frozen?.sha256).toBe(createHash('sha256').update(submitted.frozen!.text).digest('hex'));
    expect(studio.written.frozenState(day.sessionId)).toBeInstanceOf(Uint8Array);

    // An observer now reads it, and cannot write.
    const observer = await open(day, day.observer);
    await observer.synced;
    expect(plainText(observer.ydoc.getXmlFragment(WRITTEN_FRAGMENT))).toContain('Daniel (8)');
    typeParagraph(observer.ydoc, 'observer edit');
    expect(await observer.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    expect((await status(day, day.observer)).frozen?.sha256).toBe(submitted.frozen?.sha256);
    expect(await (await fetch(`${studio.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${day.actor1.id}`, { headers: { cookie: await signIn(studio, day.actor1) } })).status).toBe(403);

    // The snapshot is immutable in the database, and survives a restart.
    expect(() => studio.db.prepare("UPDATE written_snapshots SET text = 'x' WHERE session_id = ?").run(day.sessionId)).toThrow(/cannot change/);
    const dataDir = studio.dataDir;
    await studio.close();
    studio = await startTestStudio({ written: { graceMs: GRACE_MS, maxTextBytes: 2000 } }, dataDir);
    expect((await status(day, day.candidate)).frozen).toEqual(submitted.frozen);
  });

  it('a candidate disconnected at the deadline syncs offline work within the grace, and it is frozen', async () => {
    // Long phases: writing closes when the lead observer moves on, not by a timer this test could miss.
    const day = bookShortDay(studio, 600);
    await toWrittenExercise(day);
    const first = await open(day, day.candidate);
    await first.synced;
    typeParagraph(first.ydoc, 'Risk: father’s temper and painkillers.');
    await expect.poll(() => serverText(day)).toContain('painkillers');
    first.close();
    await first.closed;
    // The server has seen the disconnection (it released the document) before the deadline.
    await expect.poll(() => studio.collab.openDocs().includes(collabDocName(day.sessionId, 'written'))).toBe(false);
    typeParagraph(first.ydoc, 'Written offline before the deadline.');
    const lead = await connectAs(studio, day.lead);
    await request(lead, 'dayControl', { action: 'advance', fromPhaseIndex: 4 });
    lead.disconnect();
    expect((await status(day, day.candidate)).status).toBe('grace');
    const again = await open(day, day.candidate, first);
    await again.synced;
    await expect.poll(() => serverText(day)).toContain('Written offline');
    await expect.poll(async () => (await status(day, day.candidate)).status, { timeout: 15_000 }).toBe('submitted');
    expect((await status(day, day.candidate)).frozen?.text).toContain('Written offline before the deadline.');
    again.close();
  });

  it('extra time (+100%) gives a later deadline, enforced by the server', async () => {
    const plain = bookShortDay(studio, 4);
    const extra = bookShortDay(studio, 4, { adjustments: { extraTimePercent: 100, restBreakMinutes: 0, notes: 'dyslexia' } });
    await toWrittenExercise(plain);
    await toWrittenExercise(extra);
    const plainCloses = (await status(plain, plain.candidate)).closesAt!;
    const extraCloses = (await status(extra, extra.candidate)).closesAt!;
    expect(extraCloses - plainCloses).toBeGreaterThanOrEqual(3900); // 8 s vs 4 s, started a moment apart
    const a = await open(plain, plain.candidate);
    const b = await open(extra, extra.candidate);
    await Promise.all([a.synced, b.synced]);
    // Between the two deadlines: the first is closed, the second still open.
    await expect.poll(async () => (await status(plain, plain.candidate)).status, { timeout: 6000 }).not.toBe('open');
    expect((await status(extra, extra.candidate)).status).toBe('open');
    typeParagraph(a.ydoc, 'late');
    typeParagraph(b.ydoc, 'still in time');
    expect(await a.closed).toMatchObject({ code: CLOSE_CODES.Forbidden });
    await expect.poll(() => serverText(extra)).toContain('still in time');
    expect(serverText(plain)).not.toContain('late');
    b.close();
  });

  it('an oversized document is refused with a clear reason and nothing accepted is lost', async () => {
    const day = bookShortDay(studio, 600);
    await toWrittenExercise(day);
    const candidate = await open(day, day.candidate);
    await candidate.synced;
    typeParagraph(candidate.ydoc, 'Kept.');
    await expect.poll(() => serverText(day)).toBe('Kept.');
    // Text cap 2000 bytes: the stored document may hold 5× that (text, formatting and edits).
    typeParagraph(candidate.ydoc, 'x'.repeat(12_000));
    expect(await candidate.closed).toMatchObject({ code: CLOSE_CODES.BadRequest, reason: expect.stringMatching(/over the 10 kB limit/) });
    expect(serverText(day)).toBe('Kept.');
  });
});
