// The synthetic cohort and the cohort data the analytics read: a cohort generated into a real
// data directory (real database, real DocStore, the services a real day uses), read back by
// cohortData. Every submitted rating comes back, drafts do not, practice sessions and
// unfinished days are left out, a date range picks exactly its sessions, outcomes agree with
// moderation's, the planted hawk rates lower than whoever shares the session with them, and the
// stringency analysis flags the planted hawk (and, run over actors, the planted actor) and no one else.
// `npm run demo -- --cohort N --seed S --json` makes the same cohort for the same seed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sheetDocName } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { ratingKey, submittedKey } from '../../shared/rubric.ts';
import { cohortData, type CohortData, type CohortDataDeps } from '../../server/analytics/cohort-data.ts';
import { stringency } from '../../server/analytics/stringency.ts';
import { generateCohort, type CohortTruth } from '../../server/analytics/synthetic-cohort.ts';
import type { AssessmentService } from '../../server/assessment/assessment-service.ts';
import { PlansRepo } from '../../server/assessment/plans-repo.ts';
import { DocStore } from '../../server/collab/doc-store.ts';
import { loadConfig } from '../../server/config.ts';
import { demoBooking } from '../../server/demo.ts';
import { storeFinishedDay } from '../../server/demo-finished.ts';
import { createLogger } from '../../server/log.ts';
import { openAssessment, openData, openModeration } from '../../server/studio.ts';
import { WrittenExercise } from '../../server/written/written-exercise.ts';
import { studioEnv } from '../helpers/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// As many as the planted effects need to be flagged (standard errors grow as 1/√N).
const SESSIONS = 300;
const log = createLogger('warn');
let dataDir: string;
let data: ReturnType<typeof openData>;
let assessment: AssessmentService;
let store: DocStore;
let written: WrittenExercise;
let deps: CohortDataDeps;
let truth: CohortTruth;
let all: CohortData;
const outsiders: { practice: string; unfinished: string } = { practice: '', unfinished: '' };

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

const role = (participants: Participant[], r: Participant['role']): Participant => participants.find((p) => p.role === r)!;

/** A submitted sheet with one rating, stored directly (as the collaboration endpoint would). */
function submittedSheet(sessionId: string, observer: Participant, scenario: 1, itemId: string, rating: number): void {
  const doc = new Y.Doc();
  doc.getMap('ratings').set(ratingKey(observer.id, scenario, itemId), rating);
  doc.getMap('submitted').set(submittedKey(observer.id, scenario), Date.now());
  store.append(sheetDocName(sessionId, observer.id, scenario), Y.encodeStateAsUpdate(doc));
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-cohort-'));
  data = openData(loadConfig({ ...studioEnv(dataDir)}));
  truth = generateCohort(data, { sessions: SESSIONS, seed: 11, refPrefix: 'cohort-test' }, log);

  // Beside the cohort: a practice session run to its end and scored, and a practitioner day
  // that never ran, both with a submitted rating: neither belongs to the cohort.
  assessment = openAssessment(data, log);
  store = new DocStore(data.db);
  written = new WrittenExercise({ db: data.db, store, assessment, audit: data.audit, log });
  const practice = assessment.book({ ...demoBooking(), templateId: 'practice', actors: [{ displayName: 'Alex Morgan', scenarios: [1] }] });
  const practiceLead = role(practice.participants, 'leadObserver');
  storeFinishedDay({ assessment, store, written }, practice.sessionId, practiceLead, {
    sheets: [{ observerId: practiceLead.id, scenario: 1, ratings: new Map([['kss-1', 2]]), global: 3, submitted: true }],
    agreed: [],
    feedback: { strengths: 'Practice.', development: 'Practice.' },
    writtenText: [],
    submittedAt: Date.now(),
  });
  const unfinished = assessment.book(demoBooking());
  submittedSheet(unfinished.sessionId, role(unfinished.participants, 'leadObserver'), 1, 'kss-1', 3);
  outsiders.practice = practice.sessionId;
  outsiders.unfinished = unfinished.sessionId;

  deps = { db: data.db, sessions: data.sessions, plans: new PlansRepo(data.db), store };
  all = cohortData(deps, {});
  // 300 whole days through the real services: about 60,000 statements, each a round trip on
  // PostgreSQL (45 s on an idle slow 2-core machine, over 60 s with a busy core), as the other
  // cohort tests allow.
}, 240_000);

afterAll(() => {
  written?.close();
  assessment?.close();
  data?.db.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the synthetic cohort, read back as cohort data', () => {
  it('returns every rating of every submitted sheet, one row each, and one outcome per finished session', () => {
    expect(truth.sessions).toHaveLength(SESSIONS);
    expect(all.outcomes.map((o) => o.sessionId).sort()).toEqual(truth.sessions.map((s) => s.sessionId).sort());
    expect(all.ratings).toHaveLength(truth.submittedRatings);
    // Practitioner days: 3 scenarios × 5 domains + the reflection, by two observers.
    expect(truth.submittedRatings + truth.draftRatings).toBe(SESSIONS * 2 * 16);
    const bySession = groupBy(all.ratings, (r) => r.sessionId);
    for (const s of truth.sessions) {
      const rows = bySession.get(s.sessionId) ?? [];
      expect(rows).toHaveLength(s.submittedRatings);
      for (const r of rows) {
        expect(r.candidate).toBe(s.candidateRef);
        expect(r.rater).toBe(r.lead ? s.lead : s.observer);
        expect(r.score).toBeGreaterThanOrEqual(1);
        expect(r.score).toBeLessThanOrEqual(4);
        if (r.scenario === 'reflective') {
          expect(r).toMatchObject({ item: 'reflection', actor: null, global: null });
        } else {
          expect(r.actor).toBe(s.actors[r.scenario - 1]);
          expect(r.global).toBeGreaterThanOrEqual(1);
          expect(r.global).toBeLessThanOrEqual(7);
        }
      }
    }
  });

  it('leaves out sheets not yet submitted, though they hold ratings', () => {
    const drafted = truth.sessions.filter((s) => s.draft !== null);
    expect(drafted.length).toBeGreaterThan(0);
    expect(truth.draftRatings).toBeGreaterThan(0);
    for (const s of drafted) {
      const co = role(data.sessions.listParticipants(s.sessionId), 'observer');
      const stored = store.load(sheetDocName(s.sessionId, co.id, s.draft!)).ydoc;
      expect(stored.getMap('ratings').size).toBeGreaterThan(0);
      expect(stored.getMap('submitted').size).toBe(0);
      expect(all.ratings.filter((r) => r.sessionId === s.sessionId && r.raterParticipantId === co.id && r.scenario === s.draft)).toEqual([]);
      // Their other sheets and the lead's are all there.
      expect(all.ratings.filter((r) => r.sessionId === s.sessionId)).toHaveLength(32 - (s.draft === 'reflective' ? 1 : 5));
    }
  });

  it('leaves out practice sessions and days that have not finished', () => {
    for (const sessionId of [outsiders.practice, outsiders.unfinished]) {
      expect(store.loadUnder(`session/${sessionId}/sheet/`).size).toBe(1);
      expect(all.ratings.some((r) => r.sessionId === sessionId)).toBe(false);
      expect(all.outcomes.some((o) => o.sessionId === sessionId)).toBe(false);
    }
  });

  it('takes exactly the sessions scheduled in [from, to)', () => {
    const sorted = [...truth.sessions].sort((a, b) => a.scheduledStart - b.scheduledStart);
    const from = sorted[75]!.scheduledStart;
    const to = sorted[225]!.scheduledStart;
    const expected = sorted.filter((s) => s.scheduledStart >= from && s.scheduledStart < to);
    expect(expected).toHaveLength(150);
    const ranged = cohortData(deps, { from, to });
    expect(ranged.outcomes.map((o) => o.sessionId)).toEqual(expected.map((s) => s.sessionId));
    expect(ranged.ratings).toHaveLength(expected.reduce((n, s) => n + s.submittedRatings, 0));
    expect(cohortData(deps, { from: sorted.at(-1)!.scheduledStart + 1 }).outcomes).toEqual([]);
    // About six months, spread out.
    expect(sorted.at(-1)!.scheduledStart - sorted[0]!.scheduledStart).toBeGreaterThan(170 * 86_400_000);
  });

  it('gives the standing observation outcome: signed off where moderated, else what moderation shows as provisional', () => {
    const moderation = openModeration(data, { assessment, store, written, log });
    const queue = new Map(moderation.queue({}).map((row) => [row.sessionId, row]));
    const signedOff = truth.sessions.filter((s) => s.signedOff).map((s) => s.sessionId);
    expect(signedOff.length).toBeGreaterThan(0);
    expect(all.outcomes.filter((o) => o.signedOff).map((o) => o.sessionId).sort()).toEqual(signedOff.sort());
    for (const outcome of all.outcomes) {
      const row = queue.get(outcome.sessionId)!;
      expect(row.status).toBe(outcome.signedOff ? 'moderated' : 'awaiting');
      expect(outcome.observation).not.toBeNull();
      expect(outcome.observation).toBe(row.results.find((r) => r.element === 'observation')!.outcome);
      expect(outcome.scheduledStart).toBe(truth.sessions.find((s) => s.sessionId === outcome.sessionId)!.scheduledStart);
    }
    const outcomes = new Set(all.outcomes.map((o) => o.observation));
    expect(outcomes).toEqual(new Set(['pass', 'fail']));
  });

  it('has the planted hawk rating lower than whoever observed with them, item by item', () => {
    // Per observer: the mean of (own rating − the other observer's) over the items both rated.
    const byItem = groupBy(all.ratings, (r) => `${r.sessionId}|${r.scenario}|${r.item}`);
    const differences = new Map<string, number[]>();
    for (const pair of byItem.values()) {
      if (pair.length !== 2) continue;
      const [a, b] = pair as [(typeof pair)[0], (typeof pair)[0]];
      differences.set(a.rater, [...(differences.get(a.rater) ?? []), a.score - b.score]);
      differences.set(b.rater, [...(differences.get(b.rater) ?? []), b.score - a.score]);
    }
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const hawk = mean(differences.get(truth.hawk)!);
    const others = [...differences].filter(([rater]) => rater !== truth.hawk).map(([, d]) => mean(d));
    expect(others).toHaveLength(7);
    expect(hawk).toBeLessThan(-0.05);
    for (const other of others) expect(hawk).toBeLessThan(other);
    // And plainly: the hawk's own mean rating is below the other observers' pooled mean.
    const ratingsOf = groupBy(all.ratings, (r) => (r.rater === truth.hawk ? 'hawk' : 'others'));
    expect(mean(ratingsOf.get('hawk')!.map((r) => r.score))).toBeLessThan(mean(ratingsOf.get('others')!.map((r) => r.score)));
  });

  it('flags the planted hawk and no other observer in the stringency analysis; over actors, the planted actor and no other', () => {
    const flagged = (result: ReturnType<typeof stringency>) => result.raters.filter((r) => r.flag !== null).map((r) => [r.rater, r.flag]);
    const byObserver = stringency(all.ratings.map((r) => ({ candidate: r.candidate, rater: r.rater, score: r.score })), { byScenario: false });
    expect(byObserver.raters).toHaveLength(8);
    expect(flagged(byObserver)).toEqual([[truth.hawk, 'hawk']]);
    const played = all.ratings.flatMap((r) => (r.actor === null ? [] : [{ candidate: r.candidate, rater: r.actor, score: r.score }]));
    const byActor = stringency(played, { byScenario: false });
    expect(byActor.raters).toHaveLength(6);
    expect(flagged(byActor)).toEqual([[truth.actor, 'hawk']]);
  });

  it('is made by `npm run demo -- --cohort N --seed S --json`, the same for the same seed', () => {
    const run = (): CohortTruth => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-cohort-cli-'));
      try {
        const out = execFileSync(process.execPath, [path.join(ROOT, 'server/demo-cli.ts'), '--cohort', '6', '--seed', '5', '--json'], {
          env: { ...process.env, ...studioEnv(dir), SIMSTUDIO_LOG_LEVEL: 'warn' },
          encoding: 'utf8',
        });
        const made = JSON.parse(out) as CohortTruth;
        const cli = openData(loadConfig({ ...studioEnv(dir)}));
        try {
          const read = cohortData({ db: cli.db, sessions: cli.sessions, plans: new PlansRepo(cli.db), store: new DocStore(cli.db) });
          expect(read.outcomes).toHaveLength(6);
          expect(read.ratings).toHaveLength(made.submittedRatings);
        } finally {
          cli.db.close();
        }
        return made;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
    const shape = (t: CohortTruth) => t.sessions.map(({ sessionId: _, candidateRef: __, ...rest }) => rest);
    const [first, second] = [run(), run()];
    expect(first.sessions).toHaveLength(6);
    expect(first.hawk).toBe(truth.hawk);
    expect(shape(second)).toEqual(shape(first));
  });
});
