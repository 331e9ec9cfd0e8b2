// Equalities answers for a synthetic cohort: its planted groups stored the way a candidate's
// own answers are (the equalities table), so that the aggregate can be checked for what was planted.
import type { EqualitiesAnswers, EthnicityId } from '../../shared/equalities.ts';
import { AGE_BANDS, ETHNIC_GROUPS } from '../../shared/equalities.ts';
import type { CohortTruth } from '../../server/analytics/synthetic-cohort.ts';
import { seededRandom } from '../../server/assessment/draw.ts';
import type { Database } from '../../server/db/database.ts';
import { EqualitiesRepo } from '../../server/equalities/equalities-repo.ts';
import { SessionsRepo } from '../../server/db/sessions-repo.ts';

/**
 * The reference group answers White British, the focal group one of the other high-level
 * groups' categories; every other answer is drawn at random (no effect planted), some
 * "Prefer not to say". Returns what was stored, by candidate reference.
 */
export function seedCohortAnswers(db: Database, cohort: CohortTruth, seed = 7, organisationId = new SessionsRepo(db).defaultOrganisation()): Map<string, EqualitiesAnswers> {
  const repo = new EqualitiesRepo(db);
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const focal = ETHNIC_GROUPS.filter((g) => g.id !== 'white').flatMap((g) => g.categories.map((c) => c.id as EthnicityId));
  const stored = new Map<string, EqualitiesAnswers>();
  for (const s of cohort.sessions) {
    const answers: EqualitiesAnswers = {
      ageBand: pick([...AGE_BANDS, 'preferNotToSay'] as const),
      sex: pick(['female', 'male', 'preferNotToSay'] as const),
      ethnicity: s.group === 'reference' ? 'white-british' : pick(focal),
      disability: pick(['yes', 'no', 'no', 'preferNotToSay'] as const),
      firstLanguageEnglish: pick(['yes', 'no'] as const),
    };
    if (!repo.submit(organisationId, s.candidateRef, { decision: 'answer', answers }, new Date())) throw new Error(`${s.candidateRef} had already answered`);
    stored.set(s.candidateRef, answers);
  }
  return stored;
}
