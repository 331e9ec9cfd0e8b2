// A synthetic cohort with known truth (`npm run demo -- --cohort 300 [--seed N]`): finished,
// scored practitioner days over about six months, stored through the same services and
// documents a real day uses (booking, the day run by its lead observer, sheets, the lead's
// document, moderation's sign-off), so the analytics pages have data and tests can check that
// what was planted is found:
//   - one hawk: an observer who rates every item lower than the others would;
//   - one actor whose scenarios are rated lower (an actor effect);
//   - a synthetic group label per candidate (reference or focal: kept only in the returned
//     truth, there is no equalities storage yet) and one domain biased against the focal group,
//     at equal ability (differential item functioning).
// A rating is ability + item + the candidate's strength in that domain + observer stringency +
// actor effect (+ the bias) + noise, rounded and clamped to 1–4; globals (1–7) follow the
// observer's domain ratings for the scenario.
//
// Why the noise is shaped so: a rater or actor effect is estimated within candidates, where a
// candidate's domain strength (the same in every scenario, for both observers) cancels, so the
// planted effects can be small and still stand out. With one of eight observers (of six actors)
// planted, sum-to-zero coding moves every other one by +effect/7 (+effect/5): larger plants
// would flag innocent ones as doves. Checked on every submitted rating, seeds 1–5 at N = 300,
// with `npm run analyse -- stringency` and R's lm (the same figures): the hawk at z −3.1 to −4.6,
// every other observer below +1.4; with actors as the raters (the scenarios' ratings), the actor
// at −3.2 to −3.9, every other actor below +1.7. Standard errors grow as 1/√N: expect about 0.6
// times these z at N = 120. The bias should be found by Mantel–Haenszel matched on the other
// domains with the biased one purified out (seeds 1–5, pass = the candidate's mean on the domain
// ≥ 2.75, five strata: Δ_MH −2.8 to −3.9, p < 1e-5; every other item p > 0.05): with six items a
// plain total carries the bias and makes the other items look as if they favoured the focal group.
import { NO_ADJUSTMENTS, type BookSession } from '../../shared/assessment.ts';
import type { SheetScenario } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { WRITTEN_CRITERIA, type Element, type Outcome } from '../../shared/moderation.ts';
import { frameworkFor, REFLECTION_ITEM_ID } from '../../shared/rubric.ts';
import { seededRandom } from '../assessment/draw.ts';
import { DocStore } from '../collab/doc-store.ts';
import { transaction } from '../db/database.ts';
import { DEMO_WRITTEN_TEXT, storeFinishedDay, type FinishedDayMarks, type SheetMarks } from '../demo-finished.ts';
import { createLogger, type Logger } from '../log.ts';
import { actingPerson } from '../moderation/acting-person.ts';
import { openAssessment, openModeration, type openData } from '../studio.ts';
import { DEFAULT_WRITTEN_OPTIONS, WrittenExercise } from '../written/written-exercise.ts';

export type CohortGroup = 'reference' | 'focal';

export interface CohortOptions {
  sessions: number;
  seed?: number;
  /** The last session's day is no later than this (epoch ms; default: yesterday). */
  end?: number;
  /** Days the sessions spread over, ending at `end` (default 182: about six months). */
  spanDays?: number;
  /** Prefix of the candidates' references (default: unique per run, so cohorts can share a data directory). */
  refPrefix?: string;
}

/** Effect sizes on the 1–4 rating scale, before rounding. */
export const COHORT_EFFECTS = {
  /** The hawk's stringency (every other observer's is 0). */
  hawk: -0.13,
  /** The planted actor's effect on the ratings of the scenarios they play (every other actor's is 0). */
  actor: -0.09,
  /** The biased domain's shift for the focal group. */
  dif: -0.7,
  /** Share of candidates in the focal group. */
  focalShare: 0.35,
  /** Share of sessions signed off by a moderator (the rest stay provisional). */
  signedOffShare: 0.15,
  /** Share of sessions where the co-observer left one sheet unsubmitted. */
  draftShare: 0.05,
} as const;

/** The domain the synthetic bias is planted in: 7. Analysis, decision-making, planning and review. */
export const COHORT_DIF_ITEM = 'kss-7';

const MEAN_RATING = 3.1;
const ABILITY_SD = 0.4;
/** A candidate's own strength or weakness in one domain, in every scenario. */
const DOMAIN_STRENGTH_SD = 0.7;
const SCENARIO_PERFORMANCE_SD = 0.03;
const ITEM_PERFORMANCE_SD = 0.15;
const OBSERVER_NOISE_SD = 0.1;
const GLOBAL_NOISE_SD = 0.35;
const ITEM_OFFSETS: Record<string, number> = { 'kss-1': 0.1, 'kss-2': 0.05, 'kss-6': -0.05, 'kss-7': -0.1, 'kss-9': 0, [REFLECTION_ITEM_ID]: -0.05 };

const OBSERVERS = ['Priya Shah', 'Tom Ellis', 'Grace Adeyemi', 'Martin Hughes', 'Sofia Rossi', 'Daniel Kerr', 'Aisha Rahman', 'Owen Price'];
const HAWK_INDEX = 3;
const ACTORS = ['Alex Morgan', 'Jamie Lee', 'Chris Doyle', 'Taylor Reid', 'Morgan Blake', 'Robin Hart'];
const TOUGH_ACTOR_INDEX = 2;
const FIRST_NAMES = ['Sam', 'Ruth', 'Amir', 'Chloe', 'Kwame', 'Hannah', 'Li', 'Marta', 'Joseph', 'Nia', 'Ravi', 'Ellen', 'Tomasz', 'Zara', 'Callum', 'Ifeoma'];
const LAST_NAMES = ['Carter', 'Okafor', 'Nowak', 'Bennett', 'Haddad', 'Walsh', 'Chen', 'Mensah', 'Patel', 'Evans', 'Byrne', 'Silva', 'Murray', 'Khan'];
const DAY_MS = 86_400_000;

export interface CohortObserverTruth {
  name: string;
  stringency: number;
}
export interface CohortActorTruth {
  name: string;
  effect: number;
}
export interface CohortSessionTruth {
  sessionId: string;
  candidateRef: string;
  candidateName: string;
  group: CohortGroup;
  ability: number;
  scheduledStart: number;
  lead: string;
  observer: string;
  /** Who played scenarios 1, 2 and 3. */
  actors: [string, string, string];
  signedOff: boolean;
  /** Rating entries stored in submitted sheets / in sheets left as drafts. */
  submittedRatings: number;
  draftRatings: number;
  /** The co-observer's sheet left unsubmitted, if any. */
  draft: SheetScenario | null;
}
export interface CohortTruth {
  seed: number;
  effects: typeof COHORT_EFFECTS;
  hawk: string;
  actor: string;
  difItem: string;
  observers: CohortObserverTruth[];
  actors: CohortActorTruth[];
  sessions: CohortSessionTruth[];
  /** Sum over sessions: rating entries in submitted sheets (what cohort data returns) and in drafts. */
  submittedRatings: number;
  draftRatings: number;
  elapsedMs: number;
}

function normal(random: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length)]!;

/** `count` distinct indexes below `n`, in random order. */
function distinct(n: number, count: number, random: () => number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, count);
}

const rate = (latent: number): number => clamp(Math.round(latent), 1, 4);

interface DayToScore {
  domains: readonly string[];
  scenarioCount: number;
  candidate: { ability: number; group: CohortGroup; strength: ReadonlyMap<string, number> };
  lead: { id: string; stringency: number };
  co: { id: string; stringency: number };
  /** The effect of the actor of scenario 1, 2, 3. */
  actorEffects: readonly number[];
  /** The co-observer's sheet left unsubmitted, if any. */
  draftAt: SheetScenario | null;
}

/** Both observers' sheets and the lead's agreed ratings for one day, from the rating model. */
function scoreDay(day: DayToScore, random: () => number): Pick<FinishedDayMarks, 'sheets' | 'agreed'> & { submittedRatings: number; draftRatings: number } {
  const { candidate } = day;
  const scored = [day.lead, day.co];
  const sheets: SheetMarks[] = [];
  const agreed: FinishedDayMarks['agreed'] = [];
  let submittedRatings = 0;
  let draftRatings = 0;
  const addSheet = (observerId: string, scenario: SheetScenario, ratings: Map<string, number>, global: number | null): void => {
    const submitted = !(observerId === day.co.id && day.draftAt === scenario);
    sheets.push({ observerId, scenario, ratings, global, submitted });
    if (submitted) submittedRatings += ratings.size;
    else draftRatings += ratings.size;
  };
  const agree = (scenario: SheetScenario, itemId: string, leadRating: number, coRating: number): void => {
    // The lead has the casting vote one point apart; further apart they meet in the middle.
    const rating = Math.abs(leadRating - coRating) <= 1 ? leadRating : Math.round((leadRating + coRating) / 2);
    agreed.push({ scenario, itemId, rating, rationale: leadRating === coRating ? 'Both observers agreed.' : 'Agreed after discussing the evidence notes.' });
  };

  for (let s = 1; s <= day.scenarioCount; s++) {
    const scenario = s as 1 | 2 | 3;
    const actorEffect = day.actorEffects[s - 1] ?? 0;
    const form = candidate.ability + SCENARIO_PERFORMANCE_SD * normal(random);
    const byObserver = scored.map(() => new Map<string, number>());
    for (const itemId of day.domains) {
      const bias = itemId === COHORT_DIF_ITEM && candidate.group === 'focal' ? COHORT_EFFECTS.dif : 0;
      const shown = MEAN_RATING + (ITEM_OFFSETS[itemId] ?? 0) + (candidate.strength.get(itemId) ?? 0) + form + actorEffect + bias + ITEM_PERFORMANCE_SD * normal(random);
      scored.forEach((o, i) => byObserver[i]!.set(itemId, rate(shown + o.stringency + OBSERVER_NOISE_SD * normal(random))));
      agree(scenario, itemId, byObserver[0]!.get(itemId)!, byObserver[1]!.get(itemId)!);
    }
    scored.forEach((o, i) => {
      const ratings = byObserver[i]!;
      const mean = [...ratings.values()].reduce((a, b) => a + b, 0) / ratings.size;
      // 1–4 onto 1–7 (4 "borderline pass" sits at 2.5), with the observer's own judgement.
      addSheet(o.id, scenario, ratings, clamp(Math.round(1 + 2 * (mean - 1) + GLOBAL_NOISE_SD * normal(random)), 1, 7));
    });
  }
  // The reflective conversation: no actor, no global judgement.
  const shown = MEAN_RATING + (ITEM_OFFSETS[REFLECTION_ITEM_ID] ?? 0) + (candidate.strength.get(REFLECTION_ITEM_ID) ?? 0) + candidate.ability + ITEM_PERFORMANCE_SD * normal(random);
  const reflection = scored.map((o) => rate(shown + o.stringency + OBSERVER_NOISE_SD * normal(random)));
  scored.forEach((o, i) => addSheet(o.id, 'reflective', new Map([[REFLECTION_ITEM_ID, reflection[i]!]]), null));
  agree('reflective', REFLECTION_ITEM_ID, reflection[0]!, reflection[1]!);
  return { sheets, agreed, submittedRatings, draftRatings };
}

/**
 * Books, runs, scores and (for some) signs off `options.sessions` sessions in the data
 * directory behind `data`, and returns what was planted. Each session is one transaction.
 */
export function generateCohort(data: ReturnType<typeof openData>, options: CohortOptions, log: Logger = createLogger('warn')): CohortTruth {
  const started = performance.now();
  const seed = options.seed ?? 1;
  // The same seed, the same cohort (mulberry32).
  const random = seededRandom(seed);
  const end = options.end ?? Date.now() - DAY_MS;
  const spanMs = (options.spanDays ?? 182) * DAY_MS;
  const refPrefix = options.refPrefix ?? `cohort-${seed}-${Date.now().toString(36)}`;

  // Days are booked and run in the past: every service here runs on this clock.
  let clock = end - spanMs;
  const now = (): number => clock;
  const assessment = openAssessment(data, log, now);
  const store = new DocStore(data.db);
  const written = new WrittenExercise({ db: data.db, store, assessment, audit: data.audit, log }, DEFAULT_WRITTEN_OPTIONS, now);
  const moderation = openModeration(data, { assessment, store, written, log, now: () => new Date(clock) });

  const observers: CohortObserverTruth[] = OBSERVERS.map((name, i) => ({ name, stringency: i === HAWK_INDEX ? COHORT_EFFECTS.hawk : 0 }));
  const actors: CohortActorTruth[] = ACTORS.map((name, i) => ({ name, effect: i === TOUGH_ACTOR_INDEX ? COHORT_EFFECTS.actor : 0 }));
  const sessions: CohortSessionTruth[] = [];
  try {
    for (let k = 0; k < options.sessions; k++) {
      // Evenly spread days, mornings and afternoons alternating.
      const day = Math.floor((end - spanMs + ((k + 0.5) * spanMs) / options.sessions) / DAY_MS) * DAY_MS;
      const scheduledStart = day + (k % 2 === 0 ? 9.5 : 13.5) * 3_600_000;
      const [leadIndex, coIndex] = distinct(OBSERVERS.length, 2, random) as [number, number];
      const actorIndexes = distinct(ACTORS.length, 3, random) as [number, number, number];
      const candidate = {
        ref: `${refPrefix}-${String(k + 1).padStart(4, '0')}`,
        name: `${pick(FIRST_NAMES, random)} ${pick(LAST_NAMES, random)}`,
        group: (random() < COHORT_EFFECTS.focalShare ? 'focal' : 'reference') as CohortGroup,
        ability: ABILITY_SD * normal(random),
      };
      const strength = new Map([...Object.keys(ITEM_OFFSETS)].map((item) => [item, DOMAIN_STRENGTH_SD * normal(random)]));
      const signedOff = random() < COHORT_EFFECTS.signedOffShare;
      const draftAt = random() < COHORT_EFFECTS.draftShare ? pick<SheetScenario>([1, 2, 3, 'reflective'], random) : null;

      const truth = transaction(data.db, () => {
        clock = scheduledStart - 15 * 60_000;
        const booking: BookSession = {
          title: `Practitioner simulated observation — ${candidate.name}`,
          templateId: 'practitioner',
          scheduledStart: new Date(scheduledStart).toISOString(),
          candidate: { displayName: candidate.name, candidateRef: candidate.ref },
          actors: actorIndexes.map((a, i) => ({ displayName: ACTORS[a]!, scenarios: [i + 1] })),
          leadObserver: { displayName: OBSERVERS[leadIndex]! },
          observers: [{ displayName: OBSERVERS[coIndex]! }],
          moderator: { displayName: 'Helen Price' },
          coordinator: { displayName: 'Jo Bennett' },
          adjustments: NO_ADJUSTMENTS,
        };
        const { sessionId, participants } = assessment.book(booking, random);
        const role = (r: Participant['role']): Participant => participants.find((p) => p.role === r)!;
        const lead = role('leadObserver');
        const co = role('observer');
        const plan = assessment.plans.plan(sessionId)!;
        const domains = plan.template.scoredDomains ?? frameworkFor(plan.template.level).defaultScoredDomains;

        const { sheets, agreed, submittedRatings, draftRatings } = scoreDay(
          {
            domains,
            scenarioCount: plan.template.scenarioCount,
            candidate: { ...candidate, strength },
            lead: { id: lead.id, stringency: observers[leadIndex]!.stringency },
            co: { id: co.id, stringency: observers[coIndex]!.stringency },
            actorEffects: actorIndexes.map((a) => actors[a]!.effect),
            draftAt,
          },
          random,
        );

        clock = scheduledStart;
        storeFinishedDay({ assessment, store, written }, sessionId, lead, {
          sheets,
          agreed,
          feedback: {
            strengths: `${candidate.name} explained the purpose of each visit clearly and kept the child at the centre of the conversation.`,
            development: 'Link what was heard to a clear hypothesis and test it before deciding on next steps.',
          },
          writtenText: DEMO_WRITTEN_TEXT,
          submittedAt: scheduledStart + 4 * 3_600_000,
        });

        if (signedOff) {
          // A moderator marks the written exercise a few days later and signs the result off.
          clock = scheduledStart + 3 * DAY_MS;
          const moderator = actingPerson(role('moderator'));
          for (const c of WRITTEN_CRITERIA) {
            const rating = rate(MEAN_RATING + candidate.ability + ITEM_PERFORMANCE_SD * normal(random));
            moderation.changeMark(moderator, sessionId, { part: 'written', itemId: c.id, rating, rationale: 'Marked at moderation.', expected: null });
          }
          const outcome: Partial<Record<Element, Outcome>> = {};
          for (const r of moderation.facts(sessionId).results) if (r.outcome) outcome[r.element] = r.outcome;
          moderation.signOff(moderator, sessionId, { outcome });
        }
        return {
          sessionId,
          candidateRef: candidate.ref,
          candidateName: candidate.name,
          group: candidate.group,
          ability: candidate.ability,
          scheduledStart,
          lead: OBSERVERS[leadIndex]!,
          observer: OBSERVERS[coIndex]!,
          actors: actorIndexes.map((a) => ACTORS[a]!) as [string, string, string],
          signedOff,
          submittedRatings,
          draftRatings,
          draft: draftAt,
        };
      });
      sessions.push(truth);
    }
  } finally {
    written.close();
    assessment.close();
  }
  return {
    seed,
    effects: COHORT_EFFECTS,
    hawk: OBSERVERS[HAWK_INDEX]!,
    actor: ACTORS[TOUGH_ACTOR_INDEX]!,
    difItem: COHORT_DIF_ITEM,
    observers,
    actors,
    sessions,
    submittedRatings: sessions.reduce((n, s) => n + s.submittedRatings, 0),
    draftRatings: sessions.reduce((n, s) => n + s.draftRatings, 0),
    elapsedMs: Math.round(performance.now() - started),
  };
}
