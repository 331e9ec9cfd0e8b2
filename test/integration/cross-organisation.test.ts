// Issue 13's cross-organisation matrix: organisation B's coordinator, moderator, observer, lead
// observer and candidate (and analyst, and administrator) reach nothing of organisation A's —
// no REST route, Socket.IO event or collaboration document answers with A's data, no list
// carries it, and nothing of A changes. Every route the HTTP app has must appear below: a new
// route without a matrix entry fails the first test.
import type { Layer } from 'router';
import * as Y from 'yjs';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collabDocName, sheetDocName, CLOSE_CODES } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import type { ModerationView, QueueRow } from '../../shared/moderation.ts';
import type { CohortAnalytics, OwnStringency } from '../../shared/analytics.ts';
import type { CalibrationCaseSummary, CalibrationSource } from '../../shared/calibration.ts';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import type { RtpCapabilitiesSchema } from '../../shared/protocol-schemas.ts';
import { DESK_ROLES, STAFF_COOKIE, type DeskRole, type Person, type StaffMeResponse } from '../../shared/people.ts';
import type { BoardRow } from '../../shared/api.ts';
import { demoBooking } from '../../server/demo.ts';
import { finishDemoDay } from '../../server/demo-finished.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { storedRecording, signOffDemoDay } from '../helpers/calibration.ts';
import { collabUrl, RawCollabClient } from '../helpers/collab-client.ts';
import { callAs, pdfText, type FinishedDay } from '../helpers/moderation.ts';
import { connect, connected, joinAndProduceVideo, OPEN_ROOM, request, signIn, startTestStudio, type ClientSocket, type TestStudio } from '../helpers/studio.ts';
import { tableNames } from '../../server/db/engine.ts';

type Who = 'coordinator' | 'moderator' | 'observer' | 'leadObserver' | 'candidate' | 'analyst';
const B_ROLES: readonly Who[] = ['coordinator', 'moderator', 'observer', 'leadObserver', 'candidate', 'analyst'];

let studio: TestStudio;

// ---- calling the API as someone ----

const cookies = new Map<string, string>();
async function cookieOf(who: Participant): Promise<string> {
  let cookie = cookies.get(who.id);
  if (!cookie) {
    cookie = await signIn(studio, who);
    cookies.set(who.id, cookie);
  }
  return cookie;
}

interface Reply {
  status: number;
  text: string;
  raw: Buffer;
}

async function send(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  const raw = body === undefined ? null : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body);
  const res = await fetch(`${studio.baseUrl}${url}`, {
    method,
    redirect: 'manual',
    headers: { ...(body === undefined || Buffer.isBuffer(body) ? {} : { 'content-type': 'application/json' }), ...headers },
    body: raw,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, raw: bytes, text: bytes.toString('utf8') };
}

/** `path` under /api, as the participant (their own cookie and id). */
async function as(who: Participant, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const sep = path.includes('?') ? '&' : '?';
  return send(`/api${path}${sep}participantId=${encodeURIComponent(who.id)}`, method, { cookie: await cookieOf(who), ...headers }, body);
}

async function json<T>(who: Participant, path: string): Promise<T> {
  const reply = await as(who, 'GET', path);
  if (reply.status !== 200) throw new Error(`GET ${path} as ${who.role}: ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as T;
}

/** `path` under /api, as a signed-in member of staff at their desk (their organisation-wide
 *  place, no session: participantId desk-<role>). */
async function atDesk(secret: string, desk: DeskRole, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const sep = path.includes('?') ? '&' : '?';
  return send(`/api${path}${sep}participantId=desk-${desk}`, method, { cookie: `${STAFF_COOKIE}=${secret}`, ...headers }, body);
}

/** `path` under /api, as a signed-in member of staff. */
function asStaff(secret: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return send(`/api${path}`, method, { cookie: `${STAFF_COOKIE}=${secret}` }, body);
}

// ---- the two organisations ----

interface OrgA {
  id: string;
  day: FinishedDay;
  /** A second day, booked (today) and not started: its moderator reviews the first day. */
  second: { sessionId: string; participants: Participant[] };
  openRoom: { sessionId: string; participants: Participant[] };
  recordingId: string;
  caseId: string;
  /** The scored domains of the case (a valid attempt rates each). */
  caseDomains: string[];
  reviewId: string;
  probeId: string;
  admin: Person;
  adminSignInId: string;
  /** A passkey of A's administrator (a stored credential row). */
  passkeyId: string;
  people: Person[];
  candidateRef: string;
  candidateName: string;
  sessionIds: string[];
}

interface OrgB {
  id: string;
  /** B's people in the matrix: one of each role, of a booked day. */
  who: Record<Who, Participant>;
  sessionId: string;
  finished: FinishedDay;
  adminSecret: string;
  candidateRef: string;
}

let A: OrgA;
let B: OrgB;

const one = (participants: Participant[], role: Participant['role']): Participant => {
  const found = participants.find((p) => p.role === role);
  if (!found) throw new Error(`no ${role}`);
  return found;
};

function finishedDay(organisationId: string, overrides: Partial<ReturnType<typeof demoBooking>>): FinishedDay {
  const { sessionId, participants } = studio.assessment.book({ ...demoBooking(), ...overrides }, Math.random, organisationId);
  finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, sessionId, participants);
  return { sessionId, participants, one: (role) => one(participants, role) };
}

beforeAll(async () => {
  studio = await startTestStudio();
  const template = studio.templates.saveNewVersion(shortTemplate(3));

  // Organisation A: a finished, signed-off day with a recording, a calibration case of it and
  // an open review; a second day today; an open room; a connection test; an administrator.
  const orgA = studio.people.createOrganisation('Alder Trust');
  const candidateRef = 'ALDER-CAND-0001';
  const candidateName = 'Aurelia Alderwood';
  const day = finishedDay(orgA.id, { title: 'Alder assessment', candidate: { displayName: candidateName, candidateRef } });
  await signOffDemoDayAs(day);
  const recordingId = storedRecording(studio, day.sessionId, day.one('candidate').id, 1, 1, Buffer.from('alder recording bytes')).id;
  const made = await as(day.one('coordinator'), 'POST', '/calibration/cases', { sessionId: day.sessionId, scenario: 1, consent: { candidate: true, actor: true } });
  if (made.status !== 201) throw new Error(`case: ${made.status} ${made.text}`);
  const caseId = (JSON.parse(made.text) as { id: string }).id;
  const caseView = await as(day.one('coordinator'), 'GET', `/calibration/cases/${caseId}`);
  const caseDomains = (JSON.parse(caseView.text) as { domains: Array<{ id: string }> }).domains.map((d) => d.id);
  const second = studio.assessment.book(booking(template.id, {
      title: 'Alder second day',
      moderator: { displayName: 'Ansel Alder-Moderator' },
      leadObserver: { displayName: 'Alys Alder-Lead' },
      observers: [{ displayName: 'Alwyn Alder-Observer' }],
    }), Math.random, orgA.id);
  // An observer of A calibrates on the case: A's calibration ratings feed A's stringency only.
  const attempt = await as(one(second.participants, 'observer'), 'POST', `/calibration/cases/${caseId}/attempt`, { ratings: Object.fromEntries(caseDomains.map((id) => [id, 2])), global: 3 });
  if (attempt.status !== 201) throw new Error(`attempt: ${attempt.status} ${attempt.text}`);
  const opened = await as(day.one('coordinator'), 'POST', `/moderation/sessions/${day.sessionId}/reviews`, {
    reviewerParticipantId: one(second.participants, 'moderator').id,
    reasons: 'The candidate appealed the scenario one outcome.',
  });
  if (opened.status !== 200) throw new Error(`review: ${opened.status} ${opened.text}`);
  const reviewId = studio.moderation.repo.reviews(day.sessionId)[0]!.id;
  const room = studio.sessions.create({ ...OPEN_ROOM, title: 'Alder open room', organisationId: orgA.id });
  const probe = await as(one(second.participants, 'candidate'), 'POST', '/prejoin/probes', { path: 'udp' });
  if (probe.status !== 201) throw new Error(`probe: ${probe.status} ${probe.text}`);
  const admin = studio.people.create(orgA.id, { displayName: 'Alma Alder-Admin', email: 'alma@alder.example', roles: ['administrator', 'coordinator'] });
  const adminSignIn = studio.staffSessions.create(admin.id, 'magic-link', 'vitest');
  const passkeyId = 'alder-admin-passkey';
  studio.db
    .prepare('INSERT INTO passkey_credentials (id, person_id, public_key, counter, transports, created_at) VALUES (?, ?, ?, 0, ?, ?)')
    .run(passkeyId, admin.id, new Uint8Array([1, 2, 3]), '[]', new Date().toISOString());
  A = {
    id: orgA.id,
    day,
    second,
    openRoom: { sessionId: room.session.id, participants: room.participants },
    recordingId,
    caseId,
    caseDomains,
    reviewId,
    probeId: (JSON.parse(probe.text) as { probeId: string }).probeId,
    admin,
    adminSignInId: adminSignIn.id,
    passkeyId,
    people: studio.people.list(orgA.id),
    candidateRef,
    candidateName,
    sessionIds: [day.sessionId, second.sessionId, room.session.id],
  };

  // Organisation B: a booked day of its own (its people are the matrix's), a finished and
  // signed-off day (so its lists are not empty), and an administrator.
  const orgB = studio.people.createOrganisation('Birch Council');
  const bRef = 'BIRCH-CAND-0001';
  const booked = studio.assessment.book(booking(template.id, { title: 'Birch day', analyst: { displayName: 'Bala Birch-Analyst' } }), Math.random, orgB.id);
  const finished = finishedDay(orgB.id, {
    title: 'Birch assessment',
    candidate: { displayName: 'Bryn Birchall', candidateRef: bRef },
    leadObserver: { displayName: 'Bea Birch-Lead' },
    observers: [{ displayName: 'Bo Birch-Observer' }],
    moderator: { displayName: 'Bex Birch-Moderator' },
  });
  await signOffDemoDayAs(finished);
  storedRecording(studio, finished.sessionId, finished.one('candidate').id, 1, 2, Buffer.from('birch recording bytes'));
  const bAdmin = studio.people.create(orgB.id, { displayName: 'Bianca Birch-Admin', email: 'bianca@birch.example', roles: ['administrator', 'coordinator', 'moderator', 'analyst'] });
  B = {
    id: orgB.id,
    who: Object.fromEntries(B_ROLES.map((role) => [role, one(booked.participants, role)])) as Record<Who, Participant>,
    sessionId: booked.sessionId,
    finished,
    adminSecret: studio.staffSessions.create(bAdmin.id, 'magic-link', 'vitest').secret,
    candidateRef: bRef,
  };
  // Everyone signs in now, so that the matrix itself opens no invite (no audit rows of its own).
  for (const p of [...Object.values(B.who), ...finished.participants]) await cookieOf(p);
}, 120_000);

afterAll(async () => {
  await studio?.close();
});

async function signOffDemoDayAs(day: FinishedDay): Promise<void> {
  await signOffDemoDay(studio, day);
}

// ---- the matrix ----

/** Why a route takes no organisation A id (checked elsewhere in this file, or by design). */
type Exempt =
  | { kind: 'public'; why: string }
  | { kind: 'page'; why: string }
  | { kind: 'own'; why: string }
  | { kind: 'list'; why: string }
  | { kind: 'perOrganisation'; why: string };

/** A call carrying organisation A's ids: every B role gets 403 or 404; the roles the route
 *  admits (`admits`) get exactly 404 (A's data is as absent as data that does not exist). */
interface Foreign {
  kind: 'foreign';
  /** One call, or several (e.g. A's id alone, and A's id under B's own session). */
  call: () => ForeignCall | ForeignCall[];
  admits: readonly Who[];
}

interface ForeignCall {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A staff call carrying organisation A's ids, as B's administrator: 404. */
interface StaffForeign {
  kind: 'staffForeign';
  call: () => { path: string; body?: unknown };
}

/** A participant route naming one of A's participants with a B participant's cookie: 401. */
interface ForeignIdentity {
  kind: 'foreignIdentity';
}

type Entry = Exempt | Foreign | StaffForeign | ForeignIdentity;

const ALL: readonly Who[] = B_ROLES;
const IN_ROOM: readonly Who[] = ['coordinator', 'moderator', 'observer', 'leadObserver', 'candidate'];
const RECORDING_VIEWERS: readonly Who[] = ['leadObserver', 'observer', 'moderator', 'coordinator'];
const MARKS = { part: 1, itemId: 'kss-2', rating: 2, rationale: 'Changed from another organisation.', expected: null };
const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };
const VP8 = {
  mid: '0',
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [] }],
  headerExtensions: [],
  encodings: [{ ssrc: 4242 }],
  rtcp: { cname: 'b', reducedSize: true },
};

/** A legal hold of A's (on its open room), made once when the matrix first asks. */
let aHold: string | undefined;
const aHoldId = (): string => (aHold ??= studio.dataProtection.holds.set(A.id, A.openRoom.sessionId, 'Held by organisation A', A.admin.id).id);

const PAGE = 'the built client’s HTML page: no organisation data in it';
const PER_ORGANISATION = 'each organisation reads and writes its own (and the shipped defaults): test/integration/organisation-content.test.ts';

const MATRIX: Record<string, Entry> = {
  // ---- app.ts ----
  'GET /api/health': { kind: 'public', why: 'health: no data' },
  'GET /join/:token': { kind: 'public', why: 'an invite link signs in its own participant only (the token names them)' },
  'GET /api/me': { kind: 'foreignIdentity' },
  'GET /room/:participantId': { kind: 'page', why: 'boot data only with the named participant’s own cookie (the /api/me check)' },
  'GET /': { kind: 'page', why: PAGE },
  'GET /studio/:participantId': { kind: 'page', why: PAGE },
  'GET /playback/:participantId': { kind: 'page', why: PAGE },
  'GET /moderation/:participantId': { kind: 'page', why: PAGE },
  'GET /analytics/:participantId': { kind: 'page', why: PAGE },
  'GET /calibration/:participantId': { kind: 'page', why: PAGE },
  'GET /signin': { kind: 'page', why: PAGE },
  'GET /staff': { kind: 'page', why: PAGE },

  // ---- assessment-routes.ts ----
  'POST /api/sessions/:sessionId/fallback-recording': {
    kind: 'foreign',
    admits: ['leadObserver'],
    call: () => ({
      path: `/sessions/${A.day.sessionId}/fallback-recording?phaseIndex=1&seq=0`,
      body: Buffer.from('not a recording'),
      headers: { 'content-type': 'application/octet-stream', 'x-fallback-run': '1', 'x-fallback-started-at': String(Date.now()) },
    }),
  },
  'GET /api/sessions/:sessionId/overview': { kind: 'foreign', admits: ALL, call: () => ({ path: `/sessions/${A.day.sessionId}/overview` }) },
  'GET /api/sessions/:sessionId/scenarios/:number/:kind': { kind: 'foreign', admits: ALL, call: () => ({ path: `/sessions/${A.day.sessionId}/scenarios/1/candidateBriefing` }) },
  'GET /api/sessions/:sessionId/written': { kind: 'foreign', admits: ALL, call: () => ({ path: `/sessions/${A.day.sessionId}/written` }) },
  'GET /api/sessions/:sessionId/recordings': { kind: 'foreign', admits: RECORDING_VIEWERS, call: () => ({ path: `/sessions/${A.day.sessionId}/recordings` }) },
  'GET /api/sessions/:sessionId/evidence-notes': { kind: 'foreign', admits: RECORDING_VIEWERS, call: () => ({ path: `/sessions/${A.day.sessionId}/evidence-notes` }) },
  'GET /api/recordings/:id/media': { kind: 'foreign', admits: RECORDING_VIEWERS, call: () => ({ path: `/recordings/${A.recordingId}/media` }) },
  'GET /api/studio/templates': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'POST /api/studio/templates': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'GET /api/studio/scenarios': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'PUT /api/studio/scenarios/:id': { kind: 'perOrganisation', why: PER_ORGANISATION },
  // Booking names people by id: A's people are not B's to book.
  'POST /api/studio/sessions': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => ({ path: '/studio/sessions', body: booking('short-3s', { leadObserver: { displayName: 'Priya Shah', personId: one(A.day.participants, 'leadObserver').personId! } }) }),
  },
  'GET /api/studio/sessions/:sessionId/invites': { kind: 'foreign', admits: ['coordinator'], call: () => ({ path: `/studio/sessions/${A.day.sessionId}/invites` }) },
  'GET /api/studio/board': { kind: 'list', why: 'the coordinator’s board (lists test)' },
  'GET /api/studio/people': { kind: 'list', why: 'the people a coordinator may book (lists test)' },
  // A's participant's invite link: under A's session, and under B's own session.
  'POST /api/studio/sessions/:sessionId/participants/:participantId/invite': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => [A.day.sessionId, B.sessionId].map((sessionId) => ({ path: `/studio/sessions/${sessionId}/participants/${A.day.one('candidate').id}/invite` })),
  },
  'DELETE /api/studio/sessions/:sessionId/participants/:participantId/invite': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => [A.day.sessionId, B.sessionId].map((sessionId) => ({ path: `/studio/sessions/${sessionId}/participants/${A.day.one('candidate').id}/invite` })),
  },

  // ---- programme-routes.ts (issue 15): A's second day is one A's coordinator could change ----
  'GET /api/studio/calendar': { kind: 'list', why: 'the sessions calendar (lists test)' },
  'GET /api/studio/sessions/:sessionId': { kind: 'foreign', admits: ['coordinator'], call: () => ({ path: `/studio/sessions/${A.second.sessionId}` }) },
  'POST /api/studio/sessions/:sessionId/reschedule': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => ({ path: `/studio/sessions/${A.second.sessionId}/reschedule`, body: { scheduledStart: new Date(Date.now() + 7 * 86_400_000).toISOString(), reason: 'Moved from another organisation.' } }),
  },
  'POST /api/studio/sessions/:sessionId/cancel': { kind: 'foreign', admits: ['coordinator'], call: () => ({ path: `/studio/sessions/${A.second.sessionId}/cancel`, body: { reason: 'Cancelled from another organisation.' } }) },
  'POST /api/studio/sessions/:sessionId/swap': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => [A.second.sessionId, B.sessionId].map((sessionId) => ({
      path: `/studio/sessions/${sessionId}/swap`,
      body: { participantId: one(A.second.participants, 'actor').id, incoming: { displayName: 'Intruder Actor' }, reason: 'Swapped from another organisation.' },
    })),
  },
  'PUT /api/studio/sessions/:sessionId/adjustments': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => ({ path: `/studio/sessions/${A.second.sessionId}/adjustments`, body: { adjustments: { extraTimePercent: 50, restBreakMinutes: 0, notes: '' }, reason: 'Changed from another organisation.' } }),
  },
  'POST /api/studio/sessions/:sessionId/no-show': { kind: 'foreign', admits: ['coordinator'], call: () => ({ path: `/studio/sessions/${A.second.sessionId}/no-show`, body: { reason: 'Marked from another organisation.' } }) },
  'POST /api/studio/sessions/:sessionId/rebook': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => ({ path: `/studio/sessions/${A.second.sessionId}/rebook`, body: { scheduledStart: new Date(Date.now() + 7 * 86_400_000).toISOString() } }),
  },

  // ---- mail-routes.ts (programme email, issue 15) ----
  'GET /api/studio/mail/templates': { kind: 'perOrganisation', why: 'each organisation’s own email templates: test/integration/programme-mail.test.ts' },
  'PUT /api/studio/mail/templates/:kind': { kind: 'perOrganisation', why: 'saves the caller’s own organisation’s template: test/integration/programme-mail.test.ts' },
  'DELETE /api/studio/mail/templates/:kind': { kind: 'perOrganisation', why: 'resets the caller’s own organisation’s template: test/integration/programme-mail.test.ts' },
  'GET /api/studio/mail/outbox': { kind: 'list', why: 'the organisation’s email delivery (test/integration/programme-mail.test.ts)' },
  // A preview rendered from A's session: as absent as a session that does not exist.
  'POST /api/studio/mail/preview': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => ({ path: '/studio/mail/preview', body: { kind: 'invitation', subject: 'Preview', body: '{{name}} {{session}}', sessionId: A.day.sessionId } }),
  },

  // ---- moderation-routes.ts ----
  'GET /api/moderation/queue': { kind: 'list', why: 'the moderation queue (lists test)' },
  'GET /api/moderation/sampling': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'PUT /api/moderation/sampling': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'GET /api/moderation/sessions/:sessionId': { kind: 'foreign', admits: ['moderator', 'coordinator'], call: () => ({ path: `/moderation/sessions/${A.day.sessionId}` }) },
  'POST /api/moderation/sessions/:sessionId/marks': { kind: 'foreign', admits: ['moderator'], call: () => ({ path: `/moderation/sessions/${A.day.sessionId}/marks`, body: MARKS }) },
  'POST /api/moderation/sessions/:sessionId/sign-off': { kind: 'foreign', admits: ['moderator'], call: () => ({ path: `/moderation/sessions/${A.day.sessionId}/sign-off`, body: { outcome: {} } }) },
  'POST /api/moderation/sessions/:sessionId/reviews': {
    kind: 'foreign',
    admits: ['moderator', 'coordinator'],
    call: () => ({ path: `/moderation/sessions/${A.day.sessionId}/reviews`, body: { reviewerParticipantId: B.who.moderator.id, reasons: 'Opened from another organisation.' } }),
  },
  'POST /api/moderation/sessions/:sessionId/reviews/:reviewId/decision': {
    kind: 'foreign',
    admits: ['moderator'],
    call: () => ({ path: `/moderation/sessions/${A.day.sessionId}/reviews/${A.reviewId}/decision`, body: { outcome: { observation: 'fail' }, reasons: 'Decided from another organisation.' } }),
  },
  'GET /api/results/mine': { kind: 'own', why: 'the candidate’s own result' },
  'GET /api/results/:sessionId/report.pdf': { kind: 'foreign', admits: ['candidate', 'moderator', 'coordinator'], call: () => ({ path: `/results/${A.day.sessionId}/report.pdf` }) },
  'GET /api/results/:sessionId/employer-summary.pdf': { kind: 'foreign', admits: ['moderator', 'coordinator'], call: () => ({ path: `/results/${A.day.sessionId}/employer-summary.pdf` }) },
  'GET /api/results.csv': { kind: 'list', why: 'the results export (lists test)' },

  // ---- analytics-routes.ts ----
  'GET /api/analytics/cohort': { kind: 'list', why: 'cohort analytics (lists test)' },
  'GET /api/analytics/cohort.csv': { kind: 'list', why: 'cohort analytics (lists test)' },
  'GET /api/analytics/cohort.pdf': { kind: 'list', why: 'cohort analytics (lists test)' },
  'GET /api/analytics/my-stringency': { kind: 'list', why: 'an observer’s position among their organisation’s observers (lists test)' },
  'GET /api/analytics/templates': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'GET /api/analytics/angoff': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'PUT /api/analytics/angoff': { kind: 'perOrganisation', why: PER_ORGANISATION },
  'POST /api/analytics/adopt-cut': { kind: 'perOrganisation', why: PER_ORGANISATION },

  // ---- equalities-routes.ts ----
  'GET /api/equalities/mine': { kind: 'own', why: 'the candidate’s own answers' },
  'GET /api/support/sessions/:sessionId/candidate-view': { kind: 'foreign', admits: ['coordinator'], call: () => ({ path: `/support/sessions/${A.day.sessionId}/candidate-view` }) },
  'GET /api/support/views/mine': { kind: 'own', why: 'the candidate’s own session’s support looks' },
  'PUT /api/equalities/mine': { kind: 'own', why: 'the candidate’s own answers' },
  'GET /api/analytics/equalities': { kind: 'list', why: 'the equalities aggregate (lists test)' },
  'GET /api/analytics/equalities.csv': { kind: 'list', why: 'the equalities aggregate (lists test)' },

  // ---- calibration-routes.ts ----
  'GET /api/calibration/sources': { kind: 'list', why: 'calibration sources (lists test)' },
  'POST /api/calibration/cases': {
    kind: 'foreign',
    admits: ['coordinator'],
    call: () => ({ path: '/calibration/cases', body: { sessionId: A.day.sessionId, scenario: 1, consent: { candidate: true, actor: true } } }),
  },
  'GET /api/calibration/cases': { kind: 'list', why: 'calibration cases (lists test)' },
  'GET /api/calibration/cases/:caseId': { kind: 'foreign', admits: ['observer', 'leadObserver', 'coordinator'], call: () => ({ path: `/calibration/cases/${A.caseId}` }) },
  'POST /api/calibration/cases/:caseId/attempt': {
    kind: 'foreign',
    admits: ['observer', 'leadObserver'],
    call: () => ({ path: `/calibration/cases/${A.caseId}/attempt`, body: { ratings: Object.fromEntries(A.caseDomains.map((id) => [id, 3])), global: 4 } }),
  },
  'GET /api/calibration/cases/:caseId/recordings/:recordingId/media': {
    kind: 'foreign',
    admits: ['observer', 'leadObserver', 'coordinator'],
    call: () => ({ path: `/calibration/cases/${A.caseId}/recordings/${A.recordingId}/media` }),
  },

  // ---- identity-routes.ts ----
  'POST /api/auth/magic-link': { kind: 'public', why: 'asks for a sign-in link by email: the same answer for any address' },
  'GET /api/auth/sso': { kind: 'public', why: 'the sign-in page’s list of organisations with single sign-on (by design)' },
  'GET /auth/magic/:token': { kind: 'public', why: 'a sign-in link signs in its own person only' },
  'GET /auth/oidc/start': { kind: 'public', why: 'single sign-on start: signs in at the named organisation’s provider' },
  'GET /auth/oidc/callback': { kind: 'public', why: 'single sign-on callback: bound to this browser’s attempt' },
  'GET /api/org/sso': { kind: 'own', why: 'the administrator’s own organisation’s settings' },
  'PUT /api/org/sso': { kind: 'own', why: 'the administrator’s own organisation’s settings' },
  'GET /api/staff/me': { kind: 'list', why: 'the signed-in person and their assignments (lists test)' },
  'GET /api/staff/sign-ins': { kind: 'own', why: 'the signed-in person’s own sign-ins' },
  'DELETE /api/staff/sign-ins/:id': { kind: 'staffForeign', call: () => ({ path: `/staff/sign-ins/${A.adminSignInId}` }) },
  'POST /api/staff/sign-out': { kind: 'own', why: 'ends the caller’s own sign-in' },
  'GET /api/staff/passkeys': { kind: 'own', why: 'the signed-in person’s own passkeys' },
  'GET /api/staff/passkeys/options': { kind: 'own', why: 'registers a passkey for the signed-in person' },
  'POST /api/staff/passkeys/verify': { kind: 'own', why: 'registers a passkey for the signed-in person' },
  'DELETE /api/staff/passkeys/:id': { kind: 'staffForeign', call: () => ({ path: `/staff/passkeys/${A.passkeyId}` }) },
  'POST /api/auth/passkey/options': { kind: 'public', why: 'a usernameless passkey challenge: names nobody' },
  'POST /api/auth/passkey/verify': { kind: 'public', why: 'signs in the passkey’s own person only' },
  'POST /api/staff/sign-out-everywhere': { kind: 'own', why: 'ends the caller’s own sign-ins' },
  'GET /api/org/people': { kind: 'list', why: 'the organisation’s people (lists test)' },
  'POST /api/org/people': { kind: 'own', why: 'creates a person in the caller’s own organisation' },
  'DELETE /api/org/people/:id': { kind: 'staffForeign', call: () => ({ path: `/org/people/${one(A.day.participants, 'observer').personId!}` }) },
  'PATCH /api/org/people/:id': { kind: 'staffForeign', call: () => ({ path: `/org/people/${one(A.day.participants, 'observer').personId!}`, body: { email: 'taken.over@b.example' } }) },
  'POST /api/org/people/:id/sign-in-link': { kind: 'staffForeign', call: () => ({ path: `/org/people/${A.admin.id}/sign-in-link` }) },
  // Subject access (issue 15): A's candidate's archive is as absent to B as a person who does not exist.
  'GET /api/org/people/:personId/subject-access': { kind: 'staffForeign', call: () => ({ path: `/org/people/${A.day.one('candidate').personId!}/subject-access` }) },
  'GET /api/org/audit': { kind: 'list', why: 'the organisation’s audit log (lists test)' },
  'GET /api/org/outbox': { kind: 'list', why: 'the organisation’s email (lists test)' },

  // ---- privacy-routes.ts (issue 15) ----
  'GET /api/privacy/notices': { kind: 'own', why: 'the caller’s own organisation’s notices and their own answer (test/integration/privacy.test.ts)' },
  'POST /api/privacy/answer': { kind: 'own', why: 'stores the caller’s own answer' },
  'GET /api/privacy/organisation': { kind: 'perOrganisation', why: 'each organisation’s own notices: test/integration/privacy.test.ts' },
  'PUT /api/privacy/organisation/:kind': { kind: 'perOrganisation', why: 'saves a version of the caller’s own organisation’s notice: test/integration/privacy.test.ts' },
  'GET /api/privacy/staff/organisation': { kind: 'perOrganisation', why: 'the signed-in administrator’s own organisation’s notices: test/integration/privacy.test.ts' },
  'PUT /api/privacy/staff/organisation/:kind': { kind: 'perOrganisation', why: 'a version of the signed-in administrator’s own organisation’s notice: test/integration/privacy.test.ts' },
  'GET /api/sessions/:sessionId/privacy-answers': { kind: 'foreign', admits: ['coordinator'], call: () => ({ path: `/sessions/${A.day.sessionId}/privacy-answers` }) },

  // ---- data-protection-routes.ts ----
  'GET /api/org/data-protection/retention': { kind: 'own', why: 'the caller’s own organisation’s retention periods' },
  'PUT /api/org/data-protection/retention': { kind: 'own', why: 'sets the caller’s own organisation’s retention periods' },
  'POST /api/org/data-protection/retention/run': { kind: 'own', why: 'runs retention over the caller’s own organisation only (test/integration/data-protection.test.ts)' },
  'GET /api/org/data-protection/holds': { kind: 'own', why: 'the caller’s own organisation’s legal holds' },
  'GET /api/org/data-protection/audit-chain': { kind: 'own', why: 'says only whether the chain holds, no rows' },
  'POST /api/org/data-protection/holds': { kind: 'staffForeign', call: () => ({ path: '/org/data-protection/holds', body: { sessionId: A.day.sessionId, reason: 'Held from another organisation' } }) },
  'POST /api/org/data-protection/holds/:id/release': { kind: 'staffForeign', call: () => ({ path: `/org/data-protection/holds/${aHoldId()}/release`, body: { reason: 'Released from another organisation' } }) },
  'POST /api/org/people/:id/erase': {
    kind: 'staffForeign',
    call: () => ({ path: `/org/people/${one(A.day.participants, 'candidate').personId!}/erase`, body: { reason: 'Erased from another organisation', keepResults: { reason: 'Statutory record' } } }),
  },

  // ---- prejoin-routes.ts ----
  'GET /api/prejoin/info': { kind: 'own', why: 'the caller’s own last test call' },
  'POST /api/prejoin/probes': { kind: 'own', why: 'starts the caller’s own connection test' },
  'POST /api/prejoin/probes/:probeId/connect': { kind: 'foreign', admits: IN_ROOM, call: () => ({ path: `/prejoin/probes/${A.probeId}/connect`, body: { dtlsParameters: DTLS } }) },
  'POST /api/prejoin/probes/:probeId/produce': { kind: 'foreign', admits: IN_ROOM, call: () => ({ path: `/prejoin/probes/${A.probeId}/produce`, body: { kind: 'video', rtpParameters: VP8 } }) },
  'POST /api/prejoin/probes/:probeId/finish': { kind: 'foreign', admits: IN_ROOM, call: () => ({ path: `/prejoin/probes/${A.probeId}/finish` }) },
  'POST /api/prejoin/result': { kind: 'own', why: 'stores the caller’s own test call' },
};

/** Every "METHOD /path" the app answers, from its router stack (nested routers included). */
function appRoutes(): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      const raw = (layer as Layer & { rawPath?: unknown }).rawPath;
      const paths = (Array.isArray(raw) ? raw : [raw]).map((p) => (typeof p === 'string' ? p : String(p)));
      const route = layer.route as { methods: Record<string, boolean> } | undefined;
      if (route) {
        for (const method of Object.keys(route.methods).filter((m) => route.methods[m] && m !== '_all')) {
          for (const p of paths) found.push(`${method.toUpperCase()} ${prefix}${p}`);
        }
        continue;
      }
      const nested = (layer.handle as { stack?: Layer[] }).stack;
      if (nested) for (const p of paths) walk(nested, p === '/' ? prefix : `${prefix}${p}`);
    }
  };
  walk((studio.httpApp as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(found)].sort();
}

/** A 404 from the route itself, not the app's answer to a path no route has (a typo here). */
const routeMatched = (reply: Reply): boolean => !reply.text.includes('no such API route') && !reply.text.includes('no such page');

/** Row counts of every table: a refused request leaves them as they were. */
function tableCounts(): Record<string, number> {
  return Object.fromEntries(tableNames(studio.db).map((name) => [name, (studio.db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n]));
}

const lastAuditId = (): number => (studio.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM audit_log').get() as { id: number }).id;

describe('cross-organisation isolation (issue 13)', () => {
  it('has a matrix entry for every route the HTTP app has', () => {
    const routes = appRoutes();
    // The walk itself works: it finds routes of every router.
    for (const known of ['GET /api/health', 'GET /api/moderation/queue', 'POST /api/calibration/cases', 'GET /auth/magic/:token', 'POST /api/prejoin/result']) expect(routes).toContain(known);
    const missing = routes.filter((r) => !(r in MATRIX));
    expect(missing, 'routes without a cross-organisation matrix entry').toEqual([]);
    // And no entry for a route that is gone (pages exist only with the client built).
    const stale = Object.keys(MATRIX).filter((r) => !routes.includes(r) && MATRIX[r]!.kind !== 'page');
    expect(stale, 'matrix entries for routes the app no longer has').toEqual([]);
  });

  it('answers 403 or 404 to each of B’s roles on every route given A’s ids, and changes nothing', async () => {
    const moderationBefore = await json<ModerationView>(one(A.second.participants, 'moderator'), `/moderation/sessions/${A.day.sessionId}`);
    aHoldId(); // made before counting, so that only B's requests could change the counts
    const before = tableCounts();
    const auditFrom = lastAuditId();
    const outcomes: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      if (entry.kind === 'foreign') {
        const method = route.split(' ')[0]!;
        for (const role of B_ROLES) {
          for (const { path, body, headers } of [entry.call()].flat()) {
            const reply = await as(B.who[role], method, path, body, headers);
            const expected = entry.admits.includes(role) ? [404] : [403, 404];
            outcomes.push(`${route} (${path}) as ${role}: ${expected.includes(reply.status) && routeMatched(reply) ? 'refused' : `${reply.status} ${reply.text.slice(0, 160)}`}`);
          }
        }
        // B's staff at their desks (no session) act in B's organisation just the same.
        for (const desk of DESK_ROLES) {
          for (const { path, body, headers } of [entry.call()].flat()) {
            const reply = await atDesk(B.adminSecret, desk, method, path, body, headers);
            const expected = entry.admits.includes(desk) ? [404] : [403, 404];
            outcomes.push(`${route} (${path}) at B's ${desk} desk: ${expected.includes(reply.status) && routeMatched(reply) ? 'refused' : `${reply.status} ${reply.text.slice(0, 160)}`}`);
          }
        }
      } else if (entry.kind === 'staffForeign') {
        const { path, body } = entry.call();
        const reply = await asStaff(B.adminSecret, route.split(' ')[0]!, path, body);
        outcomes.push(`${route} as B's administrator: ${reply.status === 404 && routeMatched(reply) ? 'refused' : `${reply.status} ${reply.text.slice(0, 160)}`}`);
      } else if (entry.kind === 'foreignIdentity') {
        // B's cookie, A's participant named: not signed in as them.
        for (const role of B_ROLES) {
          const reply = await send(`/api/me?participantId=${one(A.day.participants, 'candidate').id}`, 'GET', { cookie: await cookieOf(B.who[role]) });
          outcomes.push(`${route} as ${role}: ${reply.status === 401 ? 'refused' : `${reply.status} ${reply.text.slice(0, 160)}`}`);
        }
      }
    }
    expect(outcomes.filter((o) => !o.endsWith(': refused'))).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(100);

    // Nothing of A (or anyone) changed, and no audit row says anything happened.
    expect(tableCounts()).toEqual(before);
    expect(studio.db.prepare('SELECT action, session_id FROM audit_log WHERE id > ?').all(auditFrom)).toEqual([]);
    const moderationAfter = await json<ModerationView>(one(A.second.participants, 'moderator'), `/moderation/sessions/${A.day.sessionId}`);
    expect(moderationAfter.rows).toEqual(moderationBefore.rows);
    expect(moderationAfter.status).toBe('underReview');
    expect(studio.people.get(one(A.day.participants, 'observer').personId!)?.removedAt).toBeNull();
    expect(studio.staffSessions.list(A.admin.id).map((s) => s.id)).toContain(A.adminSignInId);
    expect(studio.db.prepare('SELECT COUNT(*) AS n FROM passkey_credentials WHERE id = ?').get(A.passkeyId)).toEqual({ n: 1 });
    // A's candidate is not erased; A's hold is not released; A's day is not held by B.
    expect(studio.people.get(A.day.one('candidate').personId!)?.displayName).toBe(A.candidateName);
    expect(studio.dataProtection.holds.list(A.id).filter((h) => h.kind === 'manual').map((h) => h.id)).toEqual([aHoldId()]);
    // A's candidate still signs in (their invite was neither reissued nor withdrawn).
    expect((await send(`/api/me?participantId=${A.day.one('candidate').id}`, 'GET', { cookie: await cookieOf(A.day.one('candidate')) })).status).toBe(200);
  });

  it('answers A’s own people on the same requests (the refusals are about the organisation)', async () => {
    const coordinator = A.day.one('coordinator');
    expect((await as(coordinator, 'GET', `/sessions/${A.day.sessionId}/recordings`)).status).toBe(200);
    expect((await as(coordinator, 'GET', `/recordings/${A.recordingId}/media`)).text).toBe('alder recording bytes');
    expect((await as(coordinator, 'GET', `/studio/sessions/${A.day.sessionId}/invites`)).status).toBe(200);
    expect((await as(coordinator, 'GET', `/moderation/sessions/${A.day.sessionId}`)).status).toBe(200);
    expect((await as(coordinator, 'GET', `/calibration/cases/${A.caseId}`)).status).toBe(200);
    expect((await as(coordinator, 'GET', `/calibration/cases/${A.caseId}/recordings/${A.recordingId}/media`)).text).toBe('alder recording bytes');
    expect((await as(A.day.one('candidate'), 'GET', `/sessions/${A.day.sessionId}/overview`)).status).toBe(200);
  });

  it('lists none of A’s sessions, people or results in B’s lists', async () => {
    const aNames = [A.candidateName, A.candidateRef, 'Alder', ...A.sessionIds];
    const noneOfA = (what: string, text: string): void => {
      for (const secret of aNames) expect(text, `${what} mentions ${secret}`).not.toContain(secret);
    };
    const bc = B.who.coordinator;
    const bookable = await json<Array<{ id: string; displayName: string }>>(bc, '/studio/people');
    expect(bookable.map((p) => p.displayName)).toContain('Bianca Birch-Admin');
    for (const person of A.people) expect(bookable.map((p) => p.id)).not.toContain(person.id);
    noneOfA('bookable people', JSON.stringify(bookable));
    const board = await json<BoardRow[]>(bc, '/studio/board');
    expect(board.map((r) => r.sessionId)).toContain(B.sessionId);
    noneOfA('board', JSON.stringify(board));
    // A's own board shows A's day today: the board would show it to B if it leaked.
    expect((await json<BoardRow[]>(A.day.one('coordinator'), '/studio/board')).map((r) => r.sessionId)).toContain(A.second.sessionId);
    // The calendar likewise (issue 15): B's holds B's sessions only, A's holds A's.
    const calendar = await json<Array<{ sessionId: string }>>(bc, '/studio/calendar');
    expect(calendar.map((r) => r.sessionId)).toContain(B.sessionId);
    noneOfA('calendar', JSON.stringify(calendar));
    expect((await json<Array<{ sessionId: string }>>(A.day.one('coordinator'), '/studio/calendar')).map((r) => r.sessionId)).toContain(A.second.sessionId);

    for (const who of [B.who.moderator, bc]) {
      const queue = await json<QueueRow[]>(who, '/moderation/queue');
      expect(queue.map((r) => r.sessionId)).toContain(B.finished.sessionId);
      noneOfA(`queue of ${who.role}`, JSON.stringify(queue));
    }
    const csv = await as(bc, 'GET', '/results.csv');
    expect(csv.text).toContain(B.candidateRef);
    noneOfA('results.csv', csv.text);
    expect((await as(A.day.one('coordinator'), 'GET', '/results.csv')).text).toContain(A.candidateRef);

    // Each organisation's cohort holds its own finished day only.
    for (const who of [bc, B.who.moderator, A.day.one('coordinator')]) {
      expect((await json<CohortAnalytics>(who, '/analytics/cohort')).sessions).toBe(1);
    }
    noneOfA('cohort', JSON.stringify(await json<CohortAnalytics>(bc, '/analytics/cohort')));
    noneOfA('cohort.csv', (await as(bc, 'GET', '/analytics/cohort.csv?table=stringency')).text);
    noneOfA('cohort.pdf', pdfText((await as(bc, 'GET', '/analytics/cohort.pdf')).raw));

    // An observer's position is among their organisation's observers only: with A's observers
    // (who share no candidate with B's) the effects would not be estimable at all.
    const own = await json<OwnStringency>(B.finished.one('observer'), '/analytics/my-stringency');
    expect(own).toMatchObject({ rater: 'Bo Birch-Observer', raters: 2, reason: null, effect: { rater: 'Bo Birch-Observer' } });
    noneOfA('my-stringency', JSON.stringify(own));

    const equalities = await as(B.who.analyst, 'GET', '/analytics/equalities');
    expect(equalities.status).toBe(200);
    noneOfA('equalities', equalities.text);
    noneOfA('equalities.csv', (await as(B.who.analyst, 'GET', '/analytics/equalities.csv?table=outcomes')).text);

    for (const who of [bc, B.who.observer, B.who.leadObserver]) {
      const cases = await json<CalibrationCaseSummary[]>(who, '/calibration/cases');
      expect(cases.map((c) => c.id), `cases listed to B's ${who.role}`).not.toContain(A.caseId);
    }
    expect((await json<CalibrationCaseSummary[]>(one(A.second.participants, 'observer'), '/calibration/cases')).map((c) => c.id)).toContain(A.caseId);
    const sources = await json<CalibrationSource[]>(bc, '/calibration/sources');
    noneOfA('calibration sources', JSON.stringify(sources));
    expect(sources.map((s) => s.sessionId)).toContain(B.finished.sessionId);

    // Moderation of B's own result offers none of A's moderators as its independent reviewer.
    const bView = await json<ModerationView>(bc, `/moderation/sessions/${B.finished.sessionId}`);
    noneOfA('eligible reviewers', JSON.stringify(bView.eligibleReviewers));
    expect(bView.eligibleReviewers.map((r) => r.participantId)).toContain(B.who.moderator.id);

    // B's staff at their desks see B's lists (a desk has no session of its own to scope by).
    const desk = (role: DeskRole, path: string): Promise<Reply> => atDesk(B.adminSecret, role, 'GET', path);
    const deskBoard = await desk('coordinator', '/studio/board');
    expect(deskBoard.status).toBe(200);
    expect(deskBoard.text).toContain(B.sessionId);
    noneOfA('desk board', deskBoard.text);
    for (const role of ['coordinator', 'moderator'] as const) {
      const queue = await desk(role, '/moderation/queue');
      expect(queue.text).toContain(B.finished.sessionId);
      noneOfA(`${role} desk queue`, queue.text);
      const cohort = JSON.parse((await desk(role, '/analytics/cohort')).text) as CohortAnalytics;
      expect(cohort.sessions).toBe(1);
      noneOfA(`${role} desk cohort`, JSON.stringify(cohort));
    }
    const deskCsv = await desk('coordinator', '/results.csv');
    expect(deskCsv.text).toContain(B.candidateRef);
    noneOfA('desk results.csv', deskCsv.text);
    const deskSources = await desk('coordinator', '/calibration/sources');
    expect(deskSources.text).toContain(B.finished.sessionId);
    noneOfA('desk calibration sources', deskSources.text);
    const deskCases = await desk('coordinator', '/calibration/cases');
    expect(deskCases.status).toBe(200);
    expect(deskCases.text).not.toContain(A.caseId);
    const deskPeople = await desk('coordinator', '/studio/people');
    expect(deskPeople.text).toContain('Bianca Birch-Admin');
    noneOfA('desk bookable people', deskPeople.text);
    const deskEqualities = await desk('analyst', '/analytics/equalities');
    expect(deskEqualities.status).toBe(200);
    noneOfA('desk equalities', deskEqualities.text);

    // B's administrator: B's people and audit only.
    const people = await asStaff(B.adminSecret, 'GET', '/org/people');
    expect(people.status).toBe(200);
    for (const person of A.people) expect(people.text).not.toContain(person.id);
    expect(people.text).toContain('Bianca Birch-Admin');
    const audit = await asStaff(B.adminSecret, 'GET', '/org/audit');
    expect(audit.status).toBe(200);
    noneOfA('audit', audit.text);
    noneOfA('audit.csv', (await asStaff(B.adminSecret, 'GET', '/org/audit?format=csv')).text);
    const outbox = await asStaff(B.adminSecret, 'GET', '/org/outbox');
    expect(outbox.status).toBe(200);
    noneOfA('outbox', outbox.text);
    const me = JSON.parse((await asStaff(B.adminSecret, 'GET', '/staff/me')).text) as StaffMeResponse;
    expect(me.organisation.id).toBe(B.id);
    noneOfA('staff/me', JSON.stringify(me));
  });

  it('refuses a review of B’s result by A’s moderator (no reviewer from another organisation)', async () => {
    const reviews = studio.moderation.repo.reviews(B.finished.sessionId).length;
    const reply = await as(B.who.coordinator, 'POST', `/moderation/sessions/${B.finished.sessionId}/reviews`, {
      reviewerParticipantId: one(A.second.participants, 'moderator').id,
      reasons: 'An appeal, sent to another organisation’s moderator.',
    });
    expect([400, 404]).toContain(reply.status);
    expect(studio.moderation.repo.reviews(B.finished.sessionId).length).toBe(reviews);
  });

  it('binds B’s sockets to B’s own session: A’s producers, rooms and events are out of reach', async () => {
    const sockets: ClientSocket[] = [];
    try {
      const aActor = connect(studio, one(A.openRoom.participants, 'actor').id, await cookieOf(one(A.openRoom.participants, 'actor')));
      sockets.push(aActor);
      await connected(aActor);
      const aProducer = await joinAndProduceVideo(aActor, 7777);

      // Naming A's participant with B's cookie does not connect.
      const impostor = connect(studio, one(A.openRoom.participants, 'candidate').id, await cookieOf(B.who.candidate));
      sockets.push(impostor);
      await expect(connected(impostor)).rejects.toThrow();

      const heard = new Map<Who, string[]>();
      for (const role of IN_ROOM) {
        const socket = connect(studio, B.who[role].id, await cookieOf(B.who[role]));
        sockets.push(socket);
        const got: string[] = [];
        heard.set(role, got);
        socket.onAny((event: string, ...args: unknown[]) => got.push(`${event} ${JSON.stringify(args)}`));
        await connected(socket);
        const join = await request(socket, 'join', { protocolVersion: PROTOCOL_VERSION });
        if (!join.ok) throw new Error(`${role} join: ${join.error.message}`);
        got.push(JSON.stringify(join.data));
        const rtpCapabilities = join.data.routerRtpCapabilities as z.infer<typeof RtpCapabilitiesSchema>;
        const recv = await request(socket, 'createTransport', { direction: 'recv' });
        expect(recv.ok).toBe(true);
        expect(await request(socket, 'consume', { producerId: aProducer, rtpCapabilities })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
        const close = await request(socket, 'closeProducer', { producerId: aProducer });
        expect(close.ok, `${role} closing A's producer`).toBe(false);
      }

      // A's room goes on (a candidate joins and consumes A's actor) while B hears none of it.
      const aCandidate = connect(studio, one(A.openRoom.participants, 'candidate').id, await cookieOf(one(A.openRoom.participants, 'candidate')));
      sockets.push(aCandidate);
      await connected(aCandidate);
      const aJoin = await request(aCandidate, 'join', { protocolVersion: PROTOCOL_VERSION });
      if (!aJoin.ok) throw new Error(aJoin.error.message);
      expect(aJoin.data.producers.map((p) => p.producerId)).toContain(aProducer);
      expect((await request(aCandidate, 'createTransport', { direction: 'recv' })).ok).toBe(true);
      const consumed = await request(aCandidate, 'consume', { producerId: aProducer, rtpCapabilities: aJoin.data.routerRtpCapabilities as z.infer<typeof RtpCapabilitiesSchema> });
      expect(consumed).toMatchObject({ ok: true, data: { producerId: aProducer } });

      // One request answered per B socket: everything sent before it has arrived.
      for (const [index, role] of IN_ROOM.entries()) expect((await request(sockets[index + 2]!, 'clockSync', { clientSentAt: Date.now() })).ok, role).toBe(true);
      const aSecrets = [A.openRoom.sessionId, aProducer, ...A.openRoom.participants.flatMap((p) => [p.id, p.displayName])];
      for (const [role, got] of heard) {
        expect(got.length, `${role} heard something of their own session`).toBeGreaterThan(1);
        for (const secret of aSecrets) expect(got.join('\n'), `${role} heard ${secret}`).not.toContain(secret);
      }
    } finally {
      for (const socket of sockets) socket.disconnect();
    }
  });

  it('refuses B’s participants A’s collaboration documents, and sends them no content', async () => {
    const docs = [
      collabDocName(A.day.sessionId, 'rubric'),
      collabDocName(A.day.sessionId, 'written'),
      sheetDocName(A.day.sessionId, A.day.one('observer').id, 1),
      sheetDocName(A.day.sessionId, A.day.one('leadObserver').id, 'reflective'),
    ];
    // A's own lead observer gets the rubric's content: there is content to leak.
    const own = new RawCollabClient(collabUrl(studio.baseUrl, docs[0]!, A.day.one('leadObserver').id), { cookie: await cookieOf(A.day.one('leadObserver')) });
    await own.synced;
    expect(Y.encodeStateAsUpdate(own.serverView).length).toBeGreaterThan(100);
    own.close();

    for (const role of B_ROLES) {
      for (const doc of docs) {
        const client = new RawCollabClient(collabUrl(studio.baseUrl, doc, B.who[role].id), { cookie: await cookieOf(B.who[role]) });
        const closed = await client.closed;
        expect(closed.code, `${role} opening ${doc}`).toBe(CLOSE_CODES.Forbidden);
        expect(Y.encodeStateAsUpdate(client.serverView).length, `${role} got content of ${doc}`).toBe(2);
      }
      // B's cookie naming A's participant: not signed in.
      const impostor = new RawCollabClient(collabUrl(studio.baseUrl, docs[0]!, A.day.one('leadObserver').id), { cookie: await cookieOf(B.who[role]) });
      expect((await impostor.closed).code).toBe(CLOSE_CODES.Unauthorized);
      expect(Y.encodeStateAsUpdate(impostor.serverView).length).toBe(2);
    }
  });
});

// The booking gate (SIMSTUDIO_REQUIRE_CALIBRATION) asks whether the booked observers passed a
// calibration case: a pass in organisation A does not calibrate a namesake booked by B.
describe('the calibration booking gate, per organisation (issue 13)', () => {
  let gate: TestStudio;
  afterAll(async () => {
    await gate?.close();
  });

  it('counts only calibration passed on the booking organisation’s cases', async () => {
    gate = await startTestStudio({ requireCalibration: true });
    const template = gate.templates.saveNewVersion(shortTemplate(3));
    const orgA = gate.people.createOrganisation('Alder Trust');
    const orgB = gate.people.createOrganisation('Birch Council');
    const { sessionId, participants } = gate.assessment.book(demoBooking(), Math.random, orgA.id);
    finishDemoDay({ assessment: gate.assessment, store: gate.docStore, written: gate.written }, sessionId, participants);
    const day: FinishedDay = { sessionId, participants, one: (role) => one(participants, role) };
    const { reference } = await signOffDemoDay(gate, day);
    storedRecording(gate, sessionId, day.one('candidate').id, 1, 1, Buffer.from('alder recording bytes'));
    const made = await callAs<{ id: string }>(gate, day.one('coordinator'), 'POST', '/calibration/cases', { sessionId, scenario: 1, consent: { candidate: true, actor: true } });
    expect(made.status).toBe(201);
    // A's lead observer and observer (of another day) pass the case: their ratings are the reference.
    const names = { leadObserver: { displayName: 'Cal Alder-Lead' }, observers: [{ displayName: 'Cal Alder-Observer' }] };
    const calibrating = gate.assessment.book(booking(template.id, names), Math.random, orgA.id);
    for (const role of ['leadObserver', 'observer'] as const) {
      const attempt = await callAs<{ passed: boolean }>(gate, one(calibrating.participants, role), 'POST', `/calibration/cases/${made.body.id}/attempt`, { ratings: reference, global: 4 });
      expect(attempt.body.passed, role).toBe(true);
    }

    const bDay = gate.assessment.book(booking(template.id), Math.random, orgB.id);
    const sessionsBefore = gate.sessions.listSessions(orgB.id).length;
    const refused = await callAs<{ error: { code: string; message: string } }>(gate, one(bDay.participants, 'coordinator'), 'POST', '/studio/sessions', booking(template.id, names));
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('Cal Alder-Observer (observer)');
    expect(gate.sessions.listSessions(orgB.id).length).toBe(sessionsBefore);
    // In A the same names are calibrated: A's coordinator books them.
    const booked = await callAs(gate, one(calibrating.participants, 'coordinator'), 'POST', '/studio/sessions', booking(template.id, names));
    expect(booked.status).toBe(201);
  });
});
