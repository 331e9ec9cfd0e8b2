// Privacy and recording notices (issue 15 item 5), on a real studio: answers are stored and
// audited, the room's media join and collaboration documents refuse anyone who has not accepted
// the current versions (a client that skips the page included), a decline can be changed, a new
// version asks again, and nothing of one organisation's notices or answers reaches another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_BOOT_ELEMENT_ID, type PageBoot } from '../../shared/api.ts';
import { CLOSE_CODES, sheetDocName } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import type { NoticeVersion, OrganisationNotices, ParticipantNotices, SessionNoticeAnswers } from '../../shared/privacy.ts';
import { STAFF_COOKIE } from '../../shared/people.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { DECLINED_MESSAGE, OUTDATED_MESSAGE, UNANSWERED_MESSAGE } from '../../server/privacy/privacy-notices.ts';
import { collabUrl, RawCollabClient } from '../helpers/collab-client.ts';
import { answerNotices } from '../helpers/privacy.ts';
import { byRole, connect, connected, createSession, OPEN_ROOM, request, signIn, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let participants: Participant[];
let sessionId: string;
const cookies = new Map<string, string>();
const sockets: ClientSocket[] = [];

/** Signed in without answering the notices (as a client that skips the page would be). */
async function cookieOf(who: Participant): Promise<string> {
  let cookie = cookies.get(who.id);
  if (!cookie) {
    cookie = await signIn(studio, who, { acceptNotices: false });
    cookies.set(who.id, cookie);
  }
  return cookie;
}

async function call(who: Participant, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const sep = path.includes('?') ? '&' : '?';
  const res = await fetch(`${studio.baseUrl}/api${path}${sep}participantId=${encodeURIComponent(who.id)}`, {
    method,
    headers: { cookie: await cookieOf(who), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text };
}

/** The signalling join's answer for this participant (a fresh connection each time). */
async function join(who: Participant): Promise<{ ok: boolean; code?: string; message?: string }> {
  const socket = connect(studio, who.id, await cookieOf(who));
  sockets.push(socket);
  await connected(socket);
  const reply = await request(socket, 'join', { protocolVersion: PROTOCOL_VERSION });
  socket.disconnect();
  return reply.ok ? { ok: true } : { ok: false, code: reply.error.code, message: reply.error.message };
}

/** What the room page the server sends says of the notices (PageBoot): accepted, so not asked again. */
async function pageSaysAccepted(who: Participant): Promise<boolean | undefined> {
  const res = await fetch(`${studio.baseUrl}/room/${who.id}`, { headers: { cookie: await cookieOf(who) } });
  expect(res.status).toBe(200);
  const boot = new RegExp(`<script type="application/json" id="${PAGE_BOOT_ELEMENT_ID}">(.*?)</script>`, 's').exec(await res.text());
  if (!boot) throw new Error('the room page carries no boot data (is the client built?)');
  const parsed = JSON.parse(boot[1]!) as PageBoot;
  expect(parsed.me.participantId).toBe(who.id);
  return parsed.noticesAccepted;
}

const answer = async (who: Participant, decision: 'accepted' | 'declined'): Promise<number> => answerNotices(studio.baseUrl, who.id, await cookieOf(who), decision);
const auditActions = (who: Participant): Array<{ action: string; detail: Record<string, unknown> }> =>
  studio.audit
    .list(sessionId)
    .filter((e) => e.actorParticipantId === who.id && e.action.startsWith('privacy.'))
    .map((e) => ({ action: e.action, detail: e.detail }));
const statusOf = async (who: Participant): Promise<{ status: string; at: number | null }> => {
  const reply = await call(byRole(participants, 'coordinator'), 'GET', `/sessions/${sessionId}/privacy-answers`);
  expect(reply.status).toBe(200);
  const row = (reply.json as SessionNoticeAnswers).participants.find((p) => p.participantId === who.id)!;
  return { status: row.status, at: row.at };
};

beforeAll(async () => {
  studio = await startTestStudio();
  ({ sessionId, participants } = createSession(studio));
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await studio?.close();
});

describe('privacy and recording notices', () => {
  it('shows the organisation’s default notices with its name in place, and refuses the join until answered', async () => {
    const candidate = byRole(participants, 'candidate');
    const notices = (await call(candidate, 'GET', '/privacy/notices')).json as ParticipantNotices;
    const organisation = studio.people.organisation(studio.sessions.organisationOf(sessionId)!)!;
    expect(notices.organisationName).toBe(organisation.name);
    expect(notices.privacy.version).toBe(0);
    expect(notices.privacy.text).toContain(`${organisation.name} is the data controller`);
    expect(notices.privacy.text).not.toContain('{organisation}');
    expect(notices.recording.text).toContain('This assessment is recorded');
    expect(notices.answer).toBeNull();
    expect(notices.answerIsCurrent).toBe(false);

    // A forged client that skips the page: its media join is refused, so is an observer's sheet.
    expect(await join(candidate)).toEqual({ ok: false, code: 'FORBIDDEN', message: UNANSWERED_MESSAGE });
    const observer = byRole(participants, 'observer');
    const sheet = new RawCollabClient(collabUrl(studio.baseUrl, sheetDocName(sessionId, observer.id, 1), observer.id), { cookie: await cookieOf(observer) });
    const closed = await sheet.closed;
    expect(closed.code).toBe(CLOSE_CODES.Forbidden);
    expect(closed.reason).toBe(UNANSWERED_MESSAGE.slice(0, 120));
    expect(await statusOf(candidate)).toEqual({ status: 'not-answered', at: null });
    expect(await pageSaysAccepted(candidate)).toBe(false);
  });

  it('stores and audits a decline; the join stays refused and the coordinator sees when', async () => {
    const candidate = byRole(participants, 'candidate');
    const before = Date.now();
    expect(await answer(candidate, 'declined')).toBe(201);
    const stored = studio.db.prepare('SELECT decision, privacy_version, recording_version, session_id FROM notice_answers WHERE participant_id = ?').all(candidate.id);
    expect(stored).toEqual([{ decision: 'declined', privacy_version: 0, recording_version: 0, session_id: sessionId }]);
    expect(auditActions(candidate)).toEqual([{ action: 'privacy.declined', detail: { privacyVersion: 0, recordingVersion: 0 } }]);
    expect(await join(candidate)).toEqual({ ok: false, code: 'FORBIDDEN', message: DECLINED_MESSAGE });
    const status = await statusOf(candidate);
    expect(status.status).toBe('declined');
    expect(status.at).toBeGreaterThanOrEqual(before);
    // The page shows the decline back, so they can change their mind.
    const notices = (await call(candidate, 'GET', '/privacy/notices')).json as ParticipantNotices;
    expect(notices.answer?.decision).toBe('declined');
    expect(await pageSaysAccepted(candidate)).toBe(false);
  });

  it('lets a candidate who declined change their mind: accepted, audited, and joined', async () => {
    const candidate = byRole(participants, 'candidate');
    expect(await answer(candidate, 'accepted')).toBe(201);
    expect(auditActions(candidate).map((a) => a.action)).toEqual(['privacy.declined', 'privacy.accepted']);
    expect((await statusOf(candidate)).status).toBe('accepted');
    expect(await join(candidate)).toEqual({ ok: true });
    // The room page now goes straight on: it says so, and asks nothing first.
    expect(await pageSaysAccepted(candidate)).toBe(true);
  });

  it('asks everyone again after a coordinator saves a new version', async () => {
    const candidate = byRole(participants, 'candidate');
    const coordinator = byRole(participants, 'coordinator');
    // The coordinator in the room accepts too (staff are asked like everyone else).
    expect(await answer(coordinator, 'accepted')).toBe(201);
    const text = 'Recording notice of {organisation}, version two: every scenario is recorded and kept for six months.';
    const saved = await call(coordinator, 'PUT', '/privacy/organisation/recording', { text });
    expect(saved.status).toBe(201);
    expect(saved.json as NoticeVersion).toMatchObject({ kind: 'recording', version: 1, text, savedBy: coordinator.displayName });
    const audited = studio.audit.list(sessionId).filter((e) => e.action === 'privacy.notice_saved');
    expect(audited.map((e) => [e.actorParticipantId, e.detail])).toEqual([[coordinator.id, { kind: 'recording', version: 1 }]]);

    expect(await join(candidate)).toEqual({ ok: false, code: 'FORBIDDEN', message: OUTDATED_MESSAGE });
    expect((await statusOf(candidate)).status).toBe('outdated');
    expect(await pageSaysAccepted(candidate)).toBe(false);
    const notices = (await call(candidate, 'GET', '/privacy/notices')).json as ParticipantNotices;
    expect(notices.answerIsCurrent).toBe(false);
    expect(notices.recording).toEqual({ version: 1, text: text.replace('{organisation}', notices.organisationName) });

    // An answer to the old version is refused and changes nothing.
    const stale = await call(candidate, 'POST', '/privacy/answer', { privacyVersion: 0, recordingVersion: 0, decision: 'accepted' });
    expect(stale.status).toBe(409);
    expect((await statusOf(candidate)).status).toBe('outdated');

    expect(await answer(candidate, 'accepted')).toBe(201);
    expect(auditActions(candidate).at(-1)).toEqual({ action: 'privacy.accepted', detail: { privacyVersion: 0, recordingVersion: 1 } });
    expect(await join(candidate)).toEqual({ ok: true });
    expect(await pageSaysAccepted(candidate)).toBe(true);

    // Versions are kept, never changed.
    expect(() => studio.db.prepare("UPDATE privacy_notices SET text = 'changed' WHERE kind = 'recording'").run()).toThrow(/never changes/);
  });

  it('refuses malformed answers and notices, and notice editing to anyone but a coordinator', async () => {
    const candidate = byRole(participants, 'candidate');
    const coordinator = byRole(participants, 'coordinator');
    const countAnswers = (): number => (studio.db.prepare('SELECT COUNT(*) AS n FROM notice_answers').get() as { n: number }).n;
    const answers = countAnswers();
    for (const body of [
      { privacyVersion: 0, recordingVersion: 1, decision: 'maybe' },
      { privacyVersion: 0, recordingVersion: 1, decision: 'accepted', extra: true },
      { privacyVersion: -1, recordingVersion: 1, decision: 'accepted' },
      { decision: 'accepted' },
    ]) {
      expect((await call(candidate, 'POST', '/privacy/answer', body)).status).toBe(400);
    }
    expect(countAnswers()).toBe(answers);
    expect((await call(candidate, 'PUT', '/privacy/organisation/privacy', { text: 'x'.repeat(100) })).status).toBe(403);
    expect((await call(byRole(participants, 'observer'), 'GET', '/privacy/organisation')).status).toBe(403);
    expect((await call(candidate, 'GET', `/sessions/${sessionId}/privacy-answers`)).status).toBe(403);
    expect((await call(coordinator, 'PUT', '/privacy/organisation/privacy', { text: 'too short' })).status).toBe(400);
    expect((await call(coordinator, 'PUT', '/privacy/organisation/cookies', { text: 'x'.repeat(100) })).status).toBe(400);
    expect((await call(coordinator, 'PUT', '/privacy/organisation/privacy', { text: 'x'.repeat(20_001) })).status).toBe(400);
    const current = (await call(coordinator, 'GET', '/privacy/organisation')).json as OrganisationNotices;
    expect(current.privacy.version).toBe(0);
  });

  it('lets an administrator edit the notices on their staff page (a new version, audited with their name)', async () => {
    const organisationId = studio.sessions.organisationOf(sessionId)!;
    const admin = studio.people.create(organisationId, { displayName: 'Ada Admin', email: 'ada.admin@example.org', roles: ['administrator'] });
    const watcher = studio.people.create(organisationId, { displayName: 'Otto Observer', email: 'otto@example.org', roles: ['observer'] });
    const staffCall = async (personId: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
      const cookie = personId ? `${STAFF_COOKIE}=${studio.staffSessions.create(personId, 'magic-link', 'vitest').secret}` : '';
      const res = await fetch(`${studio.baseUrl}/api${path}`, {
        method,
        headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json() };
    };
    const current = (await staffCall(admin.id, 'GET', '/privacy/staff/organisation')).json as OrganisationNotices;
    expect(current.recording.version).toBe(1);
    expect(current.privacy.version).toBe(0);
    const text = 'Privacy notice of {organisation}, written by its data protection officer: contact dpo@example.org.';
    expect((await staffCall(watcher.id, 'PUT', '/privacy/staff/organisation/privacy', { text })).status).toBe(403);
    expect((await staffCall(null, 'PUT', '/privacy/staff/organisation/privacy', { text })).status).toBe(401);
    expect((await staffCall(admin.id, 'PUT', '/privacy/staff/organisation/privacy', { text: 'short' })).status).toBe(400);
    const saved = await staffCall(admin.id, 'PUT', '/privacy/staff/organisation/privacy', { text });
    expect(saved.status).toBe(201);
    expect(saved.json).toMatchObject({ kind: 'privacy', version: 1, text, savedBy: 'Ada Admin' });
    const audited = studio.audit.listForOrganisation(organisationId, { action: 'privacy.notice_saved' });
    expect(audited.find((e) => e.personId === admin.id)).toMatchObject({ name: 'Ada Admin', role: 'administrator', detail: { kind: 'privacy', version: 1 } });
    // Everyone is asked again.
    const candidate = byRole(participants, 'candidate');
    expect(await join(candidate)).toEqual({ ok: false, code: 'FORBIDDEN', message: OUTDATED_MESSAGE });
    expect(await answer(candidate, 'accepted')).toBe(201);
    expect(await join(candidate)).toEqual({ ok: true });

    // Erasing the administrator who wrote it (data protection, issue 15): the saved version keeps
    // its text and number; only the name it was saved under becomes their pseudonym.
    const erasedBy = studio.people.create(organisationId, { displayName: 'Esme Eraser', email: 'esme@example.org', roles: ['administrator'] });
    const report = studio.dataProtection.erase(organisationId, admin.id, { reason: 'Left the council' }, { personId: erasedBy.id, name: 'Esme Eraser', role: 'administrator', organisationId });
    const stored = studio.db.prepare("SELECT text, version, saved_by_name FROM privacy_notices WHERE organisation_id = ? AND kind = 'privacy'").get(organisationId) as { text: string; version: number; saved_by_name: string };
    expect(stored).toEqual({ text, version: 1, saved_by_name: report.pseudonym });
    expect(() => studio.db.prepare("UPDATE privacy_notices SET text = 'changed' WHERE organisation_id = ?").run(organisationId)).toThrow(/never changes/);
  });

  it('keeps each organisation’s notices and answers to itself', async () => {
    const other = studio.people.createOrganisation('Birchwood Council');
    const { sessionId: otherSession, participants: others } = createSession(studio, { ...OPEN_ROOM, organisationId: other.id });
    const theirCoordinator = byRole(others, 'coordinator');
    // A's saved recording notice is A's: B still has the default.
    const theirs = (await call(theirCoordinator, 'GET', '/privacy/organisation')).json as OrganisationNotices;
    expect(theirs.organisationName).toBe('Birchwood Council');
    expect(theirs.recording.version).toBe(0);
    const theirCandidate = (await call(byRole(others, 'candidate'), 'GET', '/privacy/notices')).json as ParticipantNotices;
    expect(theirCandidate.recording.version).toBe(0);
    expect(theirCandidate.privacy.text).toContain('Birchwood Council is the data controller');

    // B's coordinator cannot read A's answers; B's new version does not touch A's.
    expect((await call(theirCoordinator, 'GET', `/sessions/${sessionId}/privacy-answers`)).status).toBe(404);
    expect((await call(theirCoordinator, 'PUT', '/privacy/organisation/recording', { text: 'Birchwood records every scenario and keeps it for one year.' })).status).toBe(201);
    const ours = (await call(byRole(participants, 'coordinator'), 'GET', '/privacy/organisation')).json as OrganisationNotices;
    expect(ours.recording.version).toBe(1);
    expect(ours.recording.text).toContain('version two');
    // A's candidate accepted A's current versions and still joins.
    expect(await join(byRole(participants, 'candidate'))).toEqual({ ok: true });
    // And A's coordinator sees only A's people.
    const answers = (await call(byRole(participants, 'coordinator'), 'GET', `/sessions/${sessionId}/privacy-answers`)).json as SessionNoticeAnswers;
    expect(answers.participants.map((p) => p.participantId).sort()).toEqual(participants.map((p) => p.id).sort());
    expect((await call(theirCoordinator, 'GET', `/sessions/${otherSession}/privacy-answers`)).status).toBe(200);
  });
});
