// Each organisation's own scenario bank, templates and sampling rule (issue 13), over real
// HTTP as each organisation's coordinator and moderator: what one organisation saves is its
// own, the shipped ones stay shared, and nothing one saves is seen or used by another (nor do
// its judges' Angoff estimates count in another's panel). Also the
// migration that made them per organisation keeps existing rows (as shared) and the foreign keys.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Template } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { AngoffPanelView } from '../../shared/analytics.ts';
import type { SamplingRule } from '../../shared/moderation.ts';
import type { Scenario } from '../../shared/scenario.ts';
import { ORGANISATION_CONTENT_VERSION, migrate } from '../../server/db/database.ts';
import { booking, shortTemplate } from '../helpers/assessment.ts';
import { callAs } from '../helpers/moderation.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
const TEMPLATE_ID = 'org-content-day';
/** The coordinator and moderator of a session booked in each organisation. */
const staff: Record<'a' | 'b', { organisationId: string; coordinator: Participant; moderator: Participant }> = {} as never;

beforeAll(async () => {
  studio = await startTestStudio();
  // A shared (built-in) template both organisations start from.
  studio.templates.saveNewVersion(shortTemplate(60, TEMPLATE_ID));
  for (const key of ['a', 'b'] as const) {
    const organisationId = studio.people.createOrganisation(`Organisation ${key.toUpperCase()}`).id;
    const { participants } = studio.assessment.book(booking(TEMPLATE_ID), Math.random, organisationId);
    const one = (role: Participant['role']) => participants.find((p) => p.role === role)!;
    staff[key] = { organisationId, coordinator: one('coordinator'), moderator: one('moderator') };
  }
}, 60_000);
afterAll(async () => {
  await studio?.close();
});

const templatesOf = async (key: 'a' | 'b') => {
  const res = await callAs<Template[]>(studio, staff[key].coordinator, 'GET', '/studio/templates');
  expect(res.status).toBe(200);
  return res.body;
};
const scenariosOf = async (key: 'a' | 'b') => {
  const res = await callAs<Scenario[]>(studio, staff[key].coordinator, 'GET', '/studio/scenarios');
  expect(res.status).toBe(200);
  return res.body;
};
/** Books a session through the studio as the organisation's coordinator. */
const bookAs = async (key: 'a' | 'b') => {
  const res = await callAs<{ sessionId: string }>(studio, staff[key].coordinator, 'POST', '/studio/sessions', booking(TEMPLATE_ID));
  expect(res.status).toBe(201);
  return res.body.sessionId;
};

describe('templates', () => {
  it('an organisation’s saved version is its own: the other sees and books the shared one', async () => {
    const { version: _v, ...shared } = studio.templates.latest(TEMPLATE_ID)!;
    const saved = await callAs<Template>(studio, staff.a.coordinator, 'POST', '/studio/templates', { ...shared, name: 'Organisation A’s day' });
    expect(saved.status).toBe(201);
    // Its version continues after the shared one it replaces.
    expect(saved.body.version).toBe(2);

    const aView = (await templatesOf('a')).find((t) => t.id === TEMPLATE_ID)!;
    expect(aView).toMatchObject({ name: 'Organisation A’s day', version: 2 });
    const bList = await templatesOf('b');
    expect(bList.find((t) => t.id === TEMPLATE_ID)).toMatchObject({ name: 'Short test day', version: 1 });
    expect(JSON.stringify(bList)).not.toContain('Organisation A’s day');
    // The shipped templates are there for both.
    expect(bList.map((t) => t.id)).toContain('practitioner');
    expect((await templatesOf('a')).map((t) => t.id)).toContain('practitioner');
    expect(studio.templates.latest(TEMPLATE_ID)).toMatchObject({ name: 'Short test day', version: 1 });

    const aSession = await bookAs('a');
    const bSession = await bookAs('b');
    expect(studio.assessment.plans.plan(aSession)!.template).toMatchObject({ name: 'Organisation A’s day', version: 2 });
    expect(studio.assessment.plans.plan(bSession)!.template).toMatchObject({ name: 'Short test day', version: 1 });

    // B saving the same id makes B's own version, after the shared one B sees; A's stays.
    const bSaved = await callAs<Template>(studio, staff.b.coordinator, 'POST', '/studio/templates', { ...shared, name: 'Organisation B’s day' });
    expect(bSaved.body.version).toBe(2);
    expect((await templatesOf('a')).find((t) => t.id === TEMPLATE_ID)).toMatchObject({ name: 'Organisation A’s day', version: 2 });
    expect((await templatesOf('b')).find((t) => t.id === TEMPLATE_ID)).toMatchObject({ name: 'Organisation B’s day', version: 2 });
  });

  it('a cut adopted by one organisation versions its own template only', async () => {
    // The analytics list and the adopted cut read the viewer's organisation's templates.
    const choices = await callAs<Array<{ id: string; name: string }>>(studio, staff.a.coordinator, 'GET', '/analytics/templates');
    expect(choices.status).toBe(200);
    expect(choices.body.find((t) => t.id === TEMPLATE_ID)?.name).toBe('Organisation A’s day');
    const bChoices = await callAs<Array<{ id: string; name: string }>>(studio, staff.b.coordinator, 'GET', '/analytics/templates');
    expect(bChoices.body.find((t) => t.id === TEMPLATE_ID)?.name).toBe('Organisation B’s day');
  });
});

describe('Angoff panels', () => {
  it('each organisation’s judges estimate for its own panel: one organisation’s estimates are not in another’s', async () => {
    const panel = (who: Participant) => callAs<AngoffPanelView>(studio, who, 'GET', `/analytics/angoff?templateId=${TEMPLATE_ID}`);
    const items = (await panel(staff.a.coordinator)).body.items.map((i) => i.itemId);
    expect(items.length).toBeGreaterThan(0);
    const estimates = (value: number) => Object.fromEntries(items.map((id) => [id, value]));
    for (const [who, value] of [[staff.a.coordinator, 2.5], [staff.a.moderator, 2.9]] as const) {
      expect((await callAs(studio, who, 'PUT', '/analytics/angoff', { templateId: TEMPLATE_ID, estimates: estimates(value) })).status).toBe(200);
    }
    const a = (await panel(staff.a.moderator)).body;
    expect(a.mine).toEqual(estimates(2.9));
    if (!a.result.ok) throw new Error(a.result.reason);
    expect(a.result.result.judges).toBe(2);
    expect(a.result.result.passMark).toBeCloseTo(2.7, 12);

    // B's judge of the same name as A's sees none of A's estimates, and B's panel has no judges yet.
    const b = (await panel(staff.b.coordinator)).body;
    expect(b.mine).toEqual({});
    expect(b.result.ok).toBe(false);
    if (!b.result.ok) expect(b.result.reason).toMatch(/at least 2 judges/);
    expect((await callAs(studio, staff.b.coordinator, 'POST', '/analytics/adopt-cut', { templateId: TEMPLATE_ID, method: 'angoff' })).status).toBe(409);
    // B's estimate under the same judge name leaves A's as they were.
    expect((await callAs(studio, staff.b.coordinator, 'PUT', '/analytics/angoff', { templateId: TEMPLATE_ID, estimates: estimates(1.5) })).status).toBe(200);
    expect((await panel(staff.a.coordinator)).body.mine).toEqual(estimates(2.5));
  });
});

describe('scenario bank', () => {
  it('an organisation’s saved scenarios are its own, drawn and served for its sessions only', async () => {
    const shared = await scenariosOf('a');
    const practitioner = shared.filter((s) => s.level === 'practitioner');
    expect(practitioner.length).toBeGreaterThanOrEqual(2);
    // A keeps its own copy of every practitioner scenario, and adds one of its own.
    for (const s of practitioner) {
      const res = await callAs<Scenario>(studio, staff.a.coordinator, 'PUT', `/studio/scenarios/${s.id}`, {
        ...s,
        title: `A: ${s.title}`,
        candidateBriefing: `A’s briefing. ${s.candidateBriefing}`,
      });
      expect(res.status).toBe(200);
    }
    const { id: _id, ...first } = practitioner[0]!;
    expect((await callAs(studio, staff.a.coordinator, 'PUT', '/studio/scenarios/a-only-scenario', { ...first, title: 'Only in A', caseFamily: 'a-only', order: 1 })).status).toBe(200);

    const aBank = await scenariosOf('a');
    expect(aBank.filter((s) => s.level === 'practitioner').every((s) => s.title.startsWith('A: ') || s.title === 'Only in A')).toBe(true);
    expect(aBank.map((s) => s.id)).toContain('a-only-scenario');
    // Shared and supervisor scenarios A did not touch are still there, once each.
    expect(aBank.filter((s) => s.id === practitioner[0]!.id)).toHaveLength(1);
    expect(aBank.some((s) => s.level === 'supervisor')).toBe(true);

    const bBank = await scenariosOf('b');
    expect(bBank.map((s) => s.title)).toEqual(shared.map((s) => s.title));
    expect(bBank.map((s) => s.id)).not.toContain('a-only-scenario');
    expect(studio.bank.get(practitioner[0]!.id)!.title).toBe(practitioner[0]!.title);

    // Content served for a session is its organisation's version of the drawn scenario.
    const brief = async (key: 'a' | 'b', sessionId: string) => {
      const coordinator = studio.sessions.listParticipants(sessionId).find((p) => p.role === 'coordinator')!;
      const res = await callAs<{ markdown: string }>(studio, coordinator, 'GET', `/sessions/${sessionId}/scenarios/1/candidateBriefing`);
      expect(res.status, key).toBe(200);
      return res.body.markdown;
    };
    const aSession = await bookAs('a');
    const bSession = await bookAs('b');
    expect(await brief('a', aSession)).toMatch(/^A’s briefing\. /);
    expect(await brief('b', bSession)).not.toContain('A’s briefing');
    const aSlots = studio.assessment.plans.slots(aSession).map((s) => s.scenarioId);
    const bSlots = studio.assessment.plans.slots(bSession).map((s) => s.scenarioId);
    expect(bSlots).not.toContain('a-only-scenario');
    expect(aSlots.length).toBe(2);
  });

  it('B cannot write over A’s scenario: B’s save of the same id makes B’s own copy', async () => {
    const id = (await scenariosOf('a')).find((s) => s.title.startsWith('A: '))!.id;
    const aBefore = (await scenariosOf('a')).find((s) => s.id === id)!;
    const bShared = (await scenariosOf('b')).find((s) => s.id === id)!;
    const res = await callAs<Scenario>(studio, staff.b.coordinator, 'PUT', `/studio/scenarios/${id}`, { ...bShared, title: 'B’s own title' });
    expect(res.status).toBe(200);
    expect((await scenariosOf('b')).find((s) => s.id === id)!.title).toBe('B’s own title');
    expect((await scenariosOf('a')).find((s) => s.id === id)).toEqual(aBefore);
    // And the shared one under them is unchanged.
    expect(studio.bank.get(id)!.title).toBe(bShared.title);
    const rows = studio.db.prepare('SELECT organisation_id FROM scenarios WHERE id = ? ORDER BY organisation_id').all(id) as Array<{ organisation_id: string }>;
    expect(rows.map((r) => r.organisation_id)).toEqual(['', staff.a.organisationId, staff.b.organisationId].sort());
  });
});

describe('sampling rule', () => {
  it('each organisation sets its own; one that has not set it has the default', async () => {
    const rule = (key: 'a' | 'b') => callAs<SamplingRule>(studio, staff[key].moderator, 'GET', '/moderation/sampling');
    const defaults = (await rule('a')).body;
    expect((await rule('b')).body).toEqual(defaults);

    const aRule: SamplingRule = { includeFails: true, includeBorderline: false, passPercent: 40 };
    expect((await callAs(studio, staff.a.moderator, 'PUT', '/moderation/sampling', aRule)).status).toBe(200);
    expect((await rule('a')).body).toEqual(aRule);
    expect((await rule('b')).body).toEqual(defaults);

    const bRule: SamplingRule = { includeFails: true, includeBorderline: true, passPercent: 5 };
    expect((await callAs(studio, staff.b.moderator, 'PUT', '/moderation/sampling', bRule)).status).toBe(200);
    expect((await rule('a')).body).toEqual(aRule);
    expect((await rule('b')).body).toEqual(bRule);
    // The studio-wide default is untouched by either.
    expect(studio.moderation.samplingRule()).toEqual(defaults);
  });

  it('the rule saved before organisations had their own stays the default for every organisation', () => {
    const fresh = studio.people.createOrganisation('Organisation C').id;
    const old: SamplingRule = { includeFails: false, includeBorderline: true, passPercent: 70 };
    studio.moderation.repo.saveSetting('moderation.sampling', old);
    expect(studio.moderation.samplingRule(fresh)).toEqual(old);
    expect(studio.moderation.samplingRule(staff.a.organisationId)).toMatchObject({ passPercent: 40 });
  });
});

describe('the migration', () => {
  it('keeps existing scenarios, templates and drawn scenarios as shared rows, with foreign keys intact', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-migration-'));
    const db = new DatabaseSync(path.join(dir, 'old.db'));
    try {
      db.exec('PRAGMA foreign_keys = ON');
      migrate(db, ORGANISATION_CONTENT_VERSION - 1);
      db.exec(`INSERT INTO scenarios (id, level, case_family, ord, supervision, body, archived, updated_at) VALUES ('old-1', 'practitioner', 'f', 1, 0, '{"id":"old-1"}', 0, 'now');
               INSERT INTO templates (id, version, body, created_at) VALUES ('old-t', 3, '{"id":"old-t","version":3}', 'now');
               INSERT INTO organisations (id, name, created_at) VALUES ('org-old', 'Old', 'now');
               INSERT INTO sessions (id, title, level, created_at, organisation_id) VALUES ('s1', 'Old', 'practitioner', 'now', 'org-old');
               INSERT INTO participants (id, session_id, role, display_name, created_at) VALUES ('p1', 's1', 'actor', 'Ada', 'now');
               INSERT INTO participants (id, session_id, role, display_name, created_at) VALUES ('c1', 's1', 'coordinator', 'Cora', 'now');
               INSERT INTO people (id, organisation_id, display_name, created_at) VALUES ('person-1', 'org-old', 'Mo', 'now');
               INSERT INTO angoff_estimates (template_id, judge_name, item_id, estimate, by_participant_id, updated_at) VALUES
                 ('old-t', 'Cora', 'kss-1', 2.5, 'c1', 'now'), ('old-t', 'Mo', 'kss-1', 2.75, 'person-1', 'now'), ('old-t', 'Gone', 'kss-1', 3, 'nobody', 'now');
               INSERT INTO session_scenarios (session_id, number, scenario_id, actor_participant_id) VALUES ('s1', 1, 'old-1', 'p1');`);
      migrate(db);
      expect(db.prepare('SELECT organisation_id, id FROM scenarios').all()).toEqual([{ organisation_id: '', id: 'old-1' }]);
      expect(db.prepare('SELECT organisation_id, id, version FROM templates').all()).toEqual([{ organisation_id: '', id: 'old-t', version: 3 }]);
      expect(db.prepare('SELECT session_id, number, scenario_id, actor_participant_id FROM session_scenarios').all()).toEqual([
        { session_id: 's1', number: 1, scenario_id: 'old-1', actor_participant_id: 'p1' },
      ]);
      // Angoff estimates belong to the organisation of whoever saved them (none if unknown), in order.
      expect(db.prepare('SELECT organisation_id, judge_name FROM angoff_estimates ORDER BY rowid').all()).toEqual([
        { organisation_id: 'org-old', judge_name: 'Cora' },
        { organisation_id: 'org-old', judge_name: 'Mo' },
        { organisation_id: '', judge_name: 'Gone' },
      ]);
      expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
      // The drawn scenarios still belong to their session and participant.
      expect(() => db.exec("INSERT INTO session_scenarios (session_id, number, scenario_id) VALUES ('no-such-session', 1, 'old-1')")).toThrow(/FOREIGN KEY/);
      // An organisation's copy of the same id sits beside the shared one; a second one is refused.
      db.exec(`INSERT INTO scenarios (organisation_id, id, level, supervision, body, updated_at) VALUES ('org-x', 'old-1', 'practitioner', 0, '{}', 'now')`);
      expect(() => db.exec(`INSERT INTO scenarios (organisation_id, id, level, supervision, body, updated_at) VALUES ('org-x', 'old-1', 'practitioner', 0, '{}', 'now')`)).toThrow(/UNIQUE/);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
