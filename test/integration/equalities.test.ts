// Equalities monitoring over HTTP, against a real studio: a route matrix (every equalities route
// × every role: only the candidate reaches their own answers, only the analyst the aggregate),
// answers given once (409 after), bad payloads refused naming the field, an aggregate with no
// group under 10 in numbers and no candidate's reference or name, every read audited, and, on a
// synthetic cohort whose planted groups are stored as equalities answers, DIF that flags the
// planted domain and no other. The analyst has no place in the room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubgroupRow } from '../../shared/analytics.ts';
import type { PresenceInfo } from '../../shared/protocol.ts';
import type { Participant } from '../../shared/domain.ts';
import type { EqualitiesAnswers, EqualitiesReport, MyEqualities } from '../../shared/equalities.ts';
import { ROLES } from '../../shared/roles.ts';
import { generateCohort, type CohortTruth } from '../../server/analytics/synthetic-cohort.ts';
import { seedCohortAnswers } from '../helpers/equalities.ts';
import { callAs, finishedDemoDay, type FinishedDay } from '../helpers/moderation.ts';
import { demoBooking } from '../../server/demo.ts';
import { connect, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let day: FinishedDay;
let truth: CohortTruth;
/** What the seeding stored per candidate reference. */
const seeded = new Map<string, EqualitiesAnswers>();

// As many as the planted DIF needs to stand out (checked over seeds 1–5 at this size: Δ −2.6 to −3.7, class C).
const COHORT_SESSIONS = 300;

const VALID: EqualitiesAnswers = { ageBand: '25-34', sex: 'female', ethnicity: 'caribbean', disability: 'no', firstLanguageEnglish: 'yes' };

beforeAll(async () => {
  studio = await startTestStudio();
  day = finishedDemoDay(studio, { analyst: { displayName: 'Ana Lytic' } });
  truth = generateCohort(studio, { sessions: COHORT_SESSIONS, seed: 14 });
  for (const [ref, answers] of seedCohortAnswers(studio.db, truth)) seeded.set(ref, answers);
}, 240_000);
afterAll(async () => {
  await studio.close();
});

const demoBookingFor = (candidateRef: string) => ({ ...demoBooking(), candidate: { displayName: 'Sam Elsewhere', candidateRef } });

const rowCount = (): number => (studio.db.prepare('SELECT COUNT(*) AS n FROM equalities_answers').get() as { n: number }).n;
const cohortCandidate = (index: number): Participant =>
  studio.sessions.listParticipants(truth.sessions[index]!.sessionId).find((p) => p.role === 'candidate')!;

describe('route matrix', () => {
  it('lets only the candidate reach /mine and only the analyst the aggregate; everyone else is refused and stores nothing', async () => {
    const before = rowCount();
    for (const role of ROLES) {
      const who = day.one(role);
      const mine = await callAs<MyEqualities>(studio, who, 'GET', '/equalities/mine');
      const put = await callAs(studio, who, 'PUT', '/equalities/mine', { decision: 'decline' });
      const aggregate = await callAs<EqualitiesReport>(studio, who, 'GET', '/analytics/equalities');
      const csv = await callAs(studio, who, 'GET', '/analytics/equalities.csv?table=outcomes');
      if (role === 'candidate') {
        expect(mine.status, role).toBe(200);
        expect(mine.body).toEqual({ state: 'unasked' });
      } else {
        expect(mine.status, role).toBe(403);
        expect(put.status, role).toBe(403);
      }
      expect(aggregate.status, role).toBe(role === 'analyst' ? 200 : 403);
      expect(csv.status, role).toBe(role === 'analyst' ? 200 : 403);
    }
    // Only the candidate's decline was stored.
    expect(rowCount()).toBe(before + 1);
    expect((await callAs<MyEqualities>(studio, day.one('candidate'), 'GET', '/equalities/mine')).body.state).toBe('declined');
  });

  it('refuses every route without a sign-in', async () => {
    const candidate = day.one('candidate');
    for (const [method, path] of [['GET', '/equalities/mine'], ['PUT', '/equalities/mine'], ['GET', '/analytics/equalities'], ['GET', '/analytics/equalities.csv']] as const) {
      const res = await fetch(`${studio.baseUrl}/api${path}?participantId=${candidate.id}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'PUT' ? { body: JSON.stringify({ decision: 'decline' }) } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });
});

describe('a candidate answers once', () => {
  it('refuses a bad payload naming the field, then takes one answer and refuses a second (409)', async () => {
    const candidate = cohortCandidate(0);
    // The seeding answered for the cohort; this candidate's own page says so, with their answers.
    const own = await callAs<MyEqualities>(studio, candidate, 'GET', '/equalities/mine');
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ state: 'answered', answers: seeded.get(truth.sessions[0]!.candidateRef) });
    expect((await callAs(studio, candidate, 'PUT', '/equalities/mine', { decision: 'answer', answers: VALID })).status).toBe(409);

    // A candidate who has not answered yet: a session booked for a new reference.
    const fresh = finishedDemoDay(studio, { candidate: { displayName: 'Rita Osei', candidateRef: 'equalities-fresh' } }).one('candidate');
    const bad = async (body: unknown): Promise<string> => {
      const res = await callAs<{ error: { code: string; message: string } }>(studio, fresh, 'PUT', '/equalities/mine', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      return res.body.error.message;
    };
    expect(await bad({ decision: 'answer', answers: { ...VALID, ethnicity: 'martian' } })).toMatch(/answers\.ethnicity/);
    const { sex: _sex, ...withoutSex } = VALID;
    expect(await bad({ decision: 'answer', answers: withoutSex })).toMatch(/answers\.sex/);
    expect(await bad({ decision: 'answer', answers: { ...VALID, ageBand: 42 } })).toMatch(/answers\.ageBand/);
    expect(await bad({ decision: 'answer', answers: { ...VALID, religion: 'none' } })).toMatch(/religion/);
    expect(await bad({ decision: 'maybe' })).toMatch(/decision/);
    expect((await callAs<MyEqualities>(studio, fresh, 'GET', '/equalities/mine')).body).toEqual({ state: 'unasked' });

    const first = await callAs<MyEqualities>(studio, fresh, 'PUT', '/equalities/mine', { decision: 'answer', answers: VALID });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ state: 'answered', answers: VALID });
    const again = await callAs<{ error: { code: string } }>(studio, fresh, 'PUT', '/equalities/mine', { decision: 'answer', answers: { ...VALID, sex: 'male' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    expect((await callAs(studio, fresh, 'PUT', '/equalities/mine', { decision: 'decline' })).status).toBe(409);
    // The first answer stands, and the audit says who answered, never what.
    expect((await callAs<MyEqualities>(studio, fresh, 'GET', '/equalities/mine')).body).toMatchObject({ answers: VALID });
    const audit = studio.audit.list(fresh.sessionId).filter((e) => e.action.startsWith('equalities.'));
    expect(audit.map((e) => e.action)).toEqual(['equalities.answered']);
    expect(JSON.stringify(audit)).not.toMatch(/caribbean|female|25-34/);
  });

  it('shows a candidate only their own answers, whatever the request names', async () => {
    const candidate = cohortCandidate(1);
    const other = truth.sessions[2]!.candidateRef;
    const res = await callAs<MyEqualities>(studio, candidate, 'GET', `/equalities/mine?candidateRef=${encodeURIComponent(other)}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'answered', answers: seeded.get(truth.sessions[1]!.candidateRef) });
  });

});

describe('the aggregate', () => {
  let report: EqualitiesReport;
  beforeAll(async () => {
    const res = await callAs<EqualitiesReport>(studio, day.one('analyst'), 'GET', '/analytics/equalities');
    expect(res.status).toBe(200);
    report = res.body;
  });

  it('shows no group under 10 in numbers, and suppressed groups as a name only', () => {
    if (!report.outcomes.ok) throw new Error(report.outcomes.reason);
    const rows: SubgroupRow[] = report.outcomes.result.characteristics.flatMap((c) => c.groups);
    const suppressed = rows.filter((r) => r.suppressed);
    // The 19 detailed ethnic categories over about a hundred focal candidates leave some small.
    expect(suppressed.length).toBeGreaterThan(0);
    for (const r of suppressed) expect(Object.keys(r).sort()).toEqual(['group', 'suppressed']);
    for (const r of rows) if (!r.suppressed) expect(r.n).toBeGreaterThanOrEqual(10);
    // Every candidate who answered has an outcome: the stated sexes add up to those who stated one.
    const sex = report.outcomes.result.characteristics.find((c) => c.characteristic === 'sex')!;
    const stated = [...seeded.values()].filter((a) => a.sex !== 'preferNotToSay').length;
    expect(sex.groups.reduce((n, g) => n + (g.suppressed ? 0 : g.n), 0)).toBe(stated + 1); // + the fresh candidate (female)
    expect(sex.groups.map((g) => g.group)).not.toContain('preferNotToSay');
  });

  it('holds no candidate reference or name', () => {
    const text = JSON.stringify(report);
    for (const s of truth.sessions) {
      expect(text).not.toContain(s.candidateRef);
      expect(text).not.toContain(s.candidateName);
    }
    expect(text).not.toContain('equalities-fresh');
    expect(text).not.toContain('Rita Osei');
    expect(text).not.toContain(day.one('candidate').displayName);
    expect(text).not.toMatch(/sessionId|candidate"/);
  });

  it('flags the planted domain (kss-7) for the planted groups, and no other domain', () => {
    const ethnic = report.dif.find((d) => d.characteristic === 'ethnicGroup')!;
    expect(ethnic.reference).toBe('white');
    expect(ethnic.focal.sort()).toEqual(['asian', 'black', 'mixed', 'other']);
    if (!ethnic.dif.ok) throw new Error(ethnic.dif.reason);
    expect(ethnic.dif.result.insufficient).toEqual([]);
    expect(ethnic.dif.result.items.map((i) => i.item).sort()).toEqual(['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9']);
    const flagged = ethnic.dif.result.items.filter((i) => i.class !== 'A');
    expect(flagged.map((i) => i.item)).toEqual(['kss-7']);
    // Against the focal group (Δ < 0 favours the reference group).
    expect(flagged[0]!.deltaMH).toBeLessThan(-1.5);
    expect(report.itemTitles['kss-7']).toMatch(/^7\. /);
  });

  it('gives the same tables as CSV: a suppressed group is a name and "yes", never a number', async () => {
    const res = await callAs<string>(studio, day.one('analyst'), 'GET', '/analytics/equalities.csv?table=outcomes');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/csv/);
    const [header, ...rows] = res.body.trim().split('\r\n').map((line) => line.split(','));
    expect(header).toEqual(['characteristic', 'group', 'suppressed', 'n', 'passed', 'rate', 'ci_lo', 'ci_hi', 'ratio', 'fisher_p']);
    if (!report.outcomes.ok) throw new Error(report.outcomes.reason);
    expect(rows).toHaveLength(report.outcomes.result.characteristics.reduce((n, c) => n + c.groups.length, 0));
    const suppressed = rows.filter((r) => r[2] === 'yes');
    expect(suppressed.length).toBeGreaterThan(0);
    for (const r of suppressed) expect(r.slice(3, 9)).toEqual(['', '', '', '', '', '']);
    for (const r of rows.filter((x) => x[2] === 'no')) expect(Number(r[3])).toBeGreaterThanOrEqual(10);
    const dif = await callAs<string>(studio, day.one('analyst'), 'GET', '/analytics/equalities.csv?table=dif');
    const kss7 = dif.body.split('\r\n').find((line) => line.startsWith('ethnicGroup,white,') && line.includes(',kss-7,'))!;
    expect(kss7.split(',').at(-2)).toBe('C');
    expect((await callAs(studio, day.one('analyst'), 'GET', '/analytics/equalities.csv?table=people')).status).toBe(400);
  });

  it('audits every read with the acting person', () => {
    const rows = studio.db.prepare("SELECT actor_name, actor_role FROM audit_log WHERE action IN ('equalities.viewed', 'equalities.exported')").all() as Array<{ actor_name: string; actor_role: string }>;
    expect(rows.length).toBeGreaterThanOrEqual(2); // the matrix's read and this suite's
    for (const r of rows) expect(r).toEqual({ actor_name: 'Ana Lytic', actor_role: 'analyst' });
  });
});

describe('the analyst and the room', () => {
  it('lands on the analytics page, is refused a room connection, and is never in anyone’s presence', async () => {
    const analyst = day.one('analyst');
    const landing = await fetch(await studio.invites.link(studio.baseUrl, analyst), { redirect: 'manual' });
    expect(landing.status).toBe(303);
    expect(landing.headers.get('location')).toBe(`/analytics/${analyst.id}`);

    const cookie = await signIn(studio, analyst);
    // The room page itself sends them on (needs the built client: `npx vite build`).
    const room = await fetch(`${studio.baseUrl}/room/${analyst.id}`, { headers: { cookie }, redirect: 'manual' });
    expect(room.status, 'is the client built?').toBe(303);
    expect(room.headers.get('location')).toBe(`/analytics/${analyst.id}`);

    // No test call either: nothing of theirs is ever sent or received.
    expect((await callAs(studio, analyst, 'GET', '/prejoin/info')).status).toBe(403);
    expect((await callAs(studio, analyst, 'POST', '/prejoin/probes', { path: 'udp' })).status).toBe(403);

    const socket = connect(studio, analyst.id, cookie);
    const refusal = await new Promise<{ message: string; data?: { code: string } }>((resolve, reject) => {
      socket.once('connect', () => reject(new Error('an analyst connected to the room')));
      socket.once('connect_error', (err) => resolve(err as never));
    });
    socket.close();
    expect(refusal.data?.code).toBe('FORBIDDEN');

    const observer = connect(studio, day.one('observer').id, await signIn(studio, day.one('observer')));
    const presence = await new Promise<PresenceInfo>((resolve) => observer.once('presence', resolve));
    observer.close();
    expect(presence.expected.map((p) => p.role)).toContain('candidate');
    expect(presence.expected.map((p) => p.participantId)).not.toContain(analyst.id);
  });
});

describe('organisations', () => {
  it('keeps organisations apart: the same candidate reference in another organisation has answered nothing there', async () => {
    const ref = truth.sessions[3]!.candidateRef;
    const elsewhere = studio.people.createOrganisation('Elsewhere Council');
    const { participants } = studio.assessment.book({ ...demoBookingFor(ref), analyst: { displayName: 'Eli Analyst' } }, Math.random, elsewhere.id);
    const candidate = participants.find((p) => p.role === 'candidate')!;
    const analyst = participants.find((p) => p.role === 'analyst')!;
    expect((await callAs<MyEqualities>(studio, candidate, 'GET', '/equalities/mine')).body).toEqual({ state: 'unasked' });
    expect((await callAs(studio, candidate, 'PUT', '/equalities/mine', { decision: 'decline' })).status).toBe(200);
    // The first organisation's answer under that reference is untouched and still its own.
    expect((await callAs<MyEqualities>(studio, cohortCandidate(3), 'GET', '/equalities/mine')).body).toMatchObject({ state: 'answered', answers: seeded.get(ref) });
    // Elsewhere's analyst sees none of the first organisation's answers.
    const report = await callAs<EqualitiesReport>(studio, analyst, 'GET', '/analytics/equalities');
    expect(report.status).toBe(200);
    // Its one session has not run, so it has no outcomes to break down by anyone's answers.
    expect(report.body.outcomes.ok).toBe(false);
  });
});
