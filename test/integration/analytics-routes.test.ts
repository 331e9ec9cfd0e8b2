// The studio's fairness analytics over HTTP, on a synthetic cohort stored the way real days
// are: the planted hawk and the planted actor are flagged and nobody else; only coordinators
// and moderators read the cohort, an observer only their own position, candidates and actors
// nothing; "adopt this cut" (borderline regression or the judges' Angoff) versions the template
// and moves no past result; every read is audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdoptedCut, AngoffPanelView, CohortAnalytics, OwnStringency } from '../../shared/analytics.ts';
import type { Participant } from '../../shared/domain.ts';
import { MAX_QUEUED } from '../../server/analytics/cohort-analytics-service.ts';
import { generateCohort, type CohortTruth } from '../../server/analytics/synthetic-cohort.ts';
import { callAs, finishedDemoDay, pdfTagged, pdfText, type FinishedDay } from '../helpers/moderation.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let day: FinishedDay;
let truth: CohortTruth;

const COHORT_SESSIONS = 300;
/** Each cohort analysis takes about 3 s on an idle 2-core machine, several times that under load. */
const SLOW_MS = 180_000;

beforeAll(async () => {
  studio = await startTestStudio();
  day = finishedDemoDay(studio);
  truth = generateCohort(studio, { sessions: COHORT_SESSIONS, seed: 14 });
}, 240_000);
afterAll(async () => {
  await studio.close();
});

const cohortAs = (who: Participant, query = '') => callAs<CohortAnalytics>(studio, who, 'GET', `/analytics/cohort${query}`);
const participantsOf = (sessionId: string) => studio.sessions.listParticipants(sessionId);
const auditActions = (): Array<{ action: string; actor_name: string | null; actor_role: string | null }> =>
  studio.db.prepare("SELECT action, actor_name, actor_role FROM audit_log WHERE action LIKE 'analytics.%' OR action LIKE 'angoff.%' OR action = 'template.cutAdopted' ORDER BY id").all() as never;

describe('cohort analytics', { timeout: SLOW_MS }, () => {
  it('flags the planted hawk among the observers and the planted actor among the actors, and nobody else', async () => {
    const res = await cohortAs(day.one('coordinator'));
    expect(res.status).toBe(200);
    const a = res.body;
    // The demo day counts too: the cohort's sessions plus that one.
    expect(a.sessions).toBe(COHORT_SESSIONS + 1);
    expect(a.stringency.ok && a.actors.ok).toBe(true);
    if (!a.stringency.ok || !a.actors.ok) return;
    const flagged = (raters: Array<{ rater: string; flag: string | null }>) => raters.filter((r) => r.flag).map((r) => [r.rater, r.flag]);
    expect(flagged(a.stringency.result.raters)).toEqual([[truth.hawk, 'hawk']]);
    expect(flagged(a.actors.result.raters)).toEqual([[truth.actor, 'hawk']]);
    // Every observer of the cohort is listed, with finite numbers.
    for (const o of truth.observers) expect(a.stringency.result.raters.map((r) => r.rater)).toContain(o.name);
    for (const r of a.stringency.result.raters) expect(Number.isFinite(r.effect) && Number.isFinite(r.se) && r.se > 0).toBe(true);
  });

  it('computes off the main thread: the studio answers other requests while a cohort is analysed', async () => {
    const order: string[] = [];
    const cohort = cohortAs(day.one('coordinator')).then((res) => {
      order.push('cohort');
      return res;
    });
    for (let i = 0; i < 5; i++) {
      const health = await fetch(`${studio.baseUrl}/api/health`);
      expect(health.status).toBe(200);
      order.push('health');
    }
    expect((await cohort).status).toBe(200);
    // On the main thread the seconds of fitting would hold every health check until the end.
    expect(order).toEqual(['health', 'health', 'health', 'health', 'health', 'cohort']);
  });

  it('refuses requests beyond a short queue with 429 instead of growing it', async () => {
    const burst = await Promise.all(Array.from({ length: MAX_QUEUED + 2 }, () => cohortAs(day.one('coordinator'))));
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array<number>(MAX_QUEUED).fill(200), 429, 429]);
    // Once the queue has drained, the next request is answered.
    expect((await cohortAs(day.one('coordinator'))).status).toBe(200);
  });

  it('reports reliability per domain and for the scenario total, and a borderline-regression cut per scenario', async () => {
    const a = (await cohortAs(day.one('moderator'))).body;
    expect(a.reliability.ok).toBe(true);
    if (!a.reliability.ok || !a.brm.ok) throw new Error('panels missing');
    expect(a.reliability.result.form).toBe('ICC1');
    const items = a.reliability.result.items.map((i) => i.item);
    expect(items).toEqual(expect.arrayContaining(['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9', 'total']));
    const total = a.reliability.result.items.find((i) => i.item === 'total')!;
    expect(total.title).toBe('All domains (scenario total)');
    expect(total.raters).toBe(2);
    expect(total.icc.ICC1).toBeGreaterThan(0.5); // two observers watching the same performance agree well
    expect(total.ci95.ICC1[0]!).toBeLessThan(total.icc.ICC1!);
    expect(a.brm.result.stations.map((s) => s.station)).toEqual(['scenario-1', 'scenario-2', 'scenario-3']);
    for (const s of a.brm.result.stations) {
      expect(s.slope).toBeGreaterThan(0);
      expect(s.cut).toBeGreaterThan(1);
      expect(s.cut).toBeLessThan(4);
    }
    expect(a.brm.result.points.length).toBeGreaterThan(COHORT_SESSIONS * 3);
  });

  it('narrows to a date range, and says "not enough data" (never NaN) where a range holds too little', async () => {
    const starts = truth.sessions.map((s) => s.scheduledStart).sort((x, y) => x - y);
    const day0 = new Date(starts[0]!).toISOString().slice(0, 10);
    const inFirstDay = truth.sessions.filter((s) => new Date(s.scheduledStart).toISOString().slice(0, 10) === day0).length;
    const narrow = (await cohortAs(day.one('coordinator'), `?from=${day0}&to=${day0}`)).body;
    expect(narrow.sessions).toBe(inFirstDay);
    expect(narrow.from).toBe(day0);
    const empty = (await cohortAs(day.one('coordinator'), '?from=2000-01-01&to=2000-01-31')).body;
    expect(empty.sessions).toBe(0);
    for (const panel of [empty.reliability, empty.stringency, empty.actors, empty.brm]) {
      expect(panel.ok).toBe(false);
      if (!panel.ok) expect(panel.reason.length).toBeGreaterThan(10);
    }
    expect(JSON.stringify(empty)).not.toMatch(/NaN|null,"reason"/);
    expect((await cohortAs(day.one('coordinator'), '?from=01/01/2026')).status).toBe(400);
  });

  it('gives each table as CSV, with names a spreadsheet would run escaped', async () => {
    const res = await callAs<string>(studio, day.one('coordinator'), 'GET', '/analytics/cohort.csv?table=stringency');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/csv/);
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toBe('observer,n,effect,se,z,flag');
    expect(lines.some((l) => l.startsWith(`${truth.hawk},`) && l.endsWith(',hawk'))).toBe(true);
    expect((await callAs(studio, day.one('coordinator'), 'GET', '/analytics/cohort.csv?table=secrets')).status).toBe(400);
  });

  it('gives the cohort report as a tagged PDF with the flags in words', async () => {
    const res = await callAs<string>(studio, day.one('moderator'), 'GET', '/analytics/cohort.pdf');
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/pdf');
    expect(pdfTagged(res.raw)).toBe(true);
    const text = pdfText(res.raw).replace(/\s+/g, ' ');
    expect(text).toContain('Fairness and consistency: cohort report');
    expect(text).toContain(`${COHORT_SESSIONS + 1} completed sessions`);
    expect(text).toContain(`Flagged: ${truth.hawk} (hawk).`);
    expect(text).toContain(`Flagged: ${truth.actor} (hawk).`);
    expect(text).not.toMatch(/NaN/);
    expect((await callAs(studio, day.one('observer'), 'GET', '/analytics/cohort.pdf')).status).toBe(403);
  });
});

describe('who may read what', { timeout: SLOW_MS }, () => {
  it('refuses the cohort, its CSV and the adopt action to candidates and actors, and the cohort to observers', async () => {
    for (const role of ['candidate', 'actor', 'observer', 'leadObserver'] as const) {
      const who = day.one(role);
      expect((await cohortAs(who)).status, role).toBe(403);
      expect((await callAs(studio, who, 'GET', '/analytics/cohort.csv?table=reliability')).status, role).toBe(403);
      expect((await callAs(studio, who, 'POST', '/analytics/adopt-cut', { templateId: 'practitioner-standard' })).status, role).toBe(403);
    }
    for (const role of ['candidate', 'actor', 'coordinator', 'moderator'] as const) {
      expect((await callAs(studio, day.one(role), 'GET', '/analytics/my-stringency')).status, role).toBe(403);
    }
  });

  it('shows an observer their own position and no other observer', async () => {
    const hawkSession = truth.sessions.find((s) => s.lead === truth.hawk || s.observer === truth.hawk)!;
    const hawk = participantsOf(hawkSession.sessionId).find((p) => p.displayName === truth.hawk)!;
    const res = await callAs<OwnStringency>(studio, hawk, 'GET', '/analytics/my-stringency');
    expect(res.status).toBe(200);
    expect(res.body.rater).toBe(truth.hawk);
    expect(res.body.effect?.flag).toBe('hawk');
    const cohort = (await cohortAs(day.one('coordinator'))).body;
    expect(res.body.raters).toBe(cohort.stringency.ok ? cohort.stringency.result.raters.length : -1);
    expect(res.body.raters).toBeGreaterThanOrEqual(truth.observers.length);
    const text = JSON.stringify(res.body);
    for (const o of truth.observers.filter((x) => x.name !== truth.hawk)) expect(text).not.toContain(o.name);
  });
});

describe('adopting the borderline-regression cut', { timeout: SLOW_MS }, () => {
  it('saves a new template version with the cut as the observation pass mark, audited, and leaves booked sessions as they were', async () => {
    const coordinator = day.one('coordinator');
    const planBefore = studio.assessment.plans.plan(day.sessionId)!;
    const templateId = planBefore.template.id;
    // The adopted cut is the coordinator's organisation's own version of the template.
    const organisation = studio.sessions.organisationOf(day.sessionId);
    const before = studio.templates.latest(templateId, organisation)!;
    const a = (await cohortAs(coordinator)).body;
    if (!a.brm.ok) throw new Error('no cut');
    const res = await callAs<AdoptedCut>(studio, coordinator, 'POST', '/analytics/adopt-cut', { templateId });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(before.version + 1);
    expect(res.body.observationPassMark).toBeCloseTo(Math.round(a.brm.result.examCut * 100) / 100, 10);
    expect(studio.templates.latest(templateId, organisation)!.results?.observationPassMark).toBe(res.body.observationPassMark);
    // The session booked before keeps its copy of the template, and so its result.
    expect(studio.assessment.plans.plan(day.sessionId)!.template).toEqual(planBefore.template);
    expect((await callAs(studio, day.one('moderator'), 'POST', '/analytics/adopt-cut', { templateId })).status).toBe(403);
    expect((await callAs(studio, coordinator, 'POST', '/analytics/adopt-cut', { templateId: 'no-such-template' })).status).toBe(404);
    expect((await callAs(studio, coordinator, 'POST', '/analytics/adopt-cut', { templateId, cut: 1 })).status).toBe(400);
  });

  it('takes each judge’s Angoff estimates for every scored domain, and adopts the judges’ cut', async () => {
    const templateId = studio.assessment.plans.plan(day.sessionId)!.template.id;
    const domains = ['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9'];
    const estimates = (value: number) => Object.fromEntries(domains.map((d, i) => [d, value + i * 0.1]));
    const put = (who: Participant, body: unknown) => callAs<{ error?: { message: string } }>(studio, who, 'PUT', '/analytics/angoff', body);
    // Incomplete, out of range and unknown estimates are refused, naming what is wrong.
    const missing = await put(day.one('moderator'), { templateId, estimates: { 'kss-1': 2.5 } });
    expect(missing.status).toBe(400);
    expect(missing.body.error!.message).toMatch(/missing kss-2, kss-6, kss-7, kss-9/);
    expect((await put(day.one('moderator'), { templateId, estimates: { ...estimates(2.5), 'kss-1': 5 } })).status).toBe(400);
    expect((await put(day.one('moderator'), { templateId, estimates: { ...estimates(2.5), 'kss-3': 2 } })).status).toBe(400);
    expect((await put(day.one('observer'), { templateId, estimates: estimates(2.5) })).status).toBe(403);
    expect((await put(day.one('candidate'), { templateId, estimates: estimates(2.5) })).status).toBe(403);

    expect((await put(day.one('moderator'), { templateId, estimates: estimates(2.4) })).status).toBe(200);
    const one = await callAs<AngoffPanelView>(studio, day.one('moderator'), 'GET', `/analytics/angoff?templateId=${templateId}`);
    expect(one.body.result.ok).toBe(false);
    if (!one.body.result.ok) expect(one.body.result.reason).toMatch(new RegExp(`at least 2 judges \\(found 1: "${day.one('moderator').displayName}"\\)`));
    expect(one.body.mine).toEqual(estimates(2.4));
    expect((await put(day.one('coordinator'), { templateId, estimates: estimates(2.8) })).status).toBe(200);
    // Saving again replaces the judge's own estimates.
    expect((await put(day.one('coordinator'), { templateId, estimates: estimates(2.6) })).status).toBe(200);
    const two = (await callAs<AngoffPanelView>(studio, day.one('coordinator'), 'GET', `/analytics/angoff?templateId=${templateId}`)).body;
    expect(two.items.map((i) => i.itemId)).toEqual(domains);
    expect(two.mine).toEqual(estimates(2.6));
    if (!two.result.ok) throw new Error(two.result.reason);
    expect(two.result.result.judges).toBe(2);
    // Judges' sums 12.0 + 1.0 and 13.0 + 1.0: the cut is 13.5, a mean rating of 2.7.
    expect(two.result.result.cut).toBeCloseTo(13.5, 12);
    expect(two.result.result.passMark).toBeCloseTo(2.7, 12);

    expect((await callAs(studio, day.one('moderator'), 'POST', '/analytics/adopt-cut', { templateId, method: 'angoff' })).status).toBe(403);
    const adopted = await callAs<AdoptedCut>(studio, day.one('coordinator'), 'POST', '/analytics/adopt-cut', { templateId, method: 'angoff' });
    expect(adopted.status).toBe(200);
    expect(adopted.body).toMatchObject({ method: 'angoff', observationPassMark: 2.7 });
    expect(studio.templates.latest(templateId, studio.sessions.organisationOf(day.sessionId))!.results?.observationPassMark).toBe(2.7);
  });

  it('keeps two judges who share a name apart: neither replaces the other’s estimates', async () => {
    const templateId = studio.assessment.plans.plan(day.sessionId)!.template.id;
    const moderator = day.one('moderator');
    const coordinator = day.one('coordinator');
    const panel = async (who: Participant) => (await callAs<AngoffPanelView>(studio, who, 'GET', `/analytics/angoff?templateId=${templateId}`)).body;
    const before = await panel(moderator);
    // The coordinator now goes by the moderator's name (two people called the same).
    studio.db.prepare('UPDATE participants SET display_name = ? WHERE id = ?').run(moderator.displayName, coordinator.id);
    try {
      const estimates = Object.fromEntries(before.items.map((i) => [i.itemId, 3]));
      expect((await callAs(studio, coordinator, 'PUT', '/analytics/angoff', { templateId, estimates })).status).toBe(200);
      const after = await panel(moderator);
      expect(after.mine).toEqual(before.mine);
      expect((await panel(coordinator)).mine).toEqual(estimates);
      if (!after.result.ok) throw new Error(after.result.reason);
      expect(after.result.result.judges).toBe(2);
      const stored = studio.db.prepare('SELECT DISTINCT judge_id, judge_name FROM angoff_estimates WHERE template_id = ? ORDER BY judge_id').all(templateId) as Array<{ judge_id: string; judge_name: string }>;
      expect(stored.map((r) => r.judge_name)).toEqual([moderator.displayName, moderator.displayName]);
      expect(new Set(stored.map((r) => r.judge_id))).toEqual(new Set([moderator.personId ?? moderator.id, coordinator.personId ?? coordinator.id]));
    } finally {
      studio.db.prepare('UPDATE participants SET display_name = ? WHERE id = ?').run(coordinator.displayName, coordinator.id);
    }
  });

  it('audits every read, export and adoption with the acting person', () => {
    const rows = auditActions();
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['analytics.viewed', 'analytics.exported', 'analytics.reportDownloaded', 'angoff.estimated', 'template.cutAdopted']));
    for (const r of rows) {
      expect(r.actor_name).toBeTruthy();
      expect(['coordinator', 'moderator']).toContain(r.actor_role);
    }
  });
});
