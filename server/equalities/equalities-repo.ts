// The equalities answers table, on its own: keyed by organisation and candidate reference, read
// and written only here, joined to nothing in SQL (the aggregate matches references in memory).
import type { EqualitiesAnswers, EqualitiesSubmission, MyEqualities } from '../../shared/equalities.ts';
import { EqualitiesAnswersSchema } from '../../shared/equalities-schemas.ts';
import type { Database } from '../db/database.ts';

interface Row {
  candidate_ref: string;
  declined: number;
  age_band: string | null;
  sex: string | null;
  ethnicity: string | null;
  disability: string | null;
  first_language_english: string | null;
  answered_at: string;
}

function answersOf(row: Row): EqualitiesAnswers | null {
  if (row.declined) return null;
  // What was stored was validated; parsing again keeps a hand-edited row out of the analyses.
  const parsed = EqualitiesAnswersSchema.safeParse({
    ageBand: row.age_band,
    sex: row.sex,
    ethnicity: row.ethnicity,
    disability: row.disability,
    firstLanguageEnglish: row.first_language_english,
  });
  return parsed.success ? parsed.data : null;
}

export class EqualitiesRepo {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  mine(organisationId: string, candidateRef: string): MyEqualities {
    const row = this.#db.prepare('SELECT * FROM equalities_answers WHERE organisation_id = ? AND candidate_ref = ?').get(organisationId, candidateRef) as Row | undefined;
    if (!row) return { state: 'unasked' };
    const answers = answersOf(row);
    return answers ? { state: 'answered', at: row.answered_at, answers } : { state: 'declined', at: row.answered_at };
  }

  /** Stores the candidate's one answer (or refusal); false when they already gave one. */
  submit(organisationId: string, candidateRef: string, submission: EqualitiesSubmission, at: Date): boolean {
    const a = submission.decision === 'answer' ? submission.answers : null;
    const result = this.#db
      .prepare(
        `INSERT INTO equalities_answers (organisation_id, candidate_ref, declined, age_band, sex, ethnicity, disability, first_language_english, answered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (organisation_id, candidate_ref) DO NOTHING`,
      )
      .run(organisationId, candidateRef, a ? 0 : 1, a?.ageBand ?? null, a?.sex ?? null, a?.ethnicity ?? null, a?.disability ?? null, a?.firstLanguageEnglish ?? null, at.toISOString());
    return Number(result.changes) === 1;
  }

  /** One organisation's candidates' answers (declines left out), for the aggregate only. */
  answered(organisationId: string): Map<string, EqualitiesAnswers> {
    const rows = this.#db.prepare('SELECT * FROM equalities_answers WHERE declined = 0 AND organisation_id = ?').all(organisationId) as unknown as Row[];
    const answers = new Map<string, EqualitiesAnswers>();
    for (const row of rows) {
      const a = answersOf(row);
      if (a) answers.set(row.candidate_ref, a);
    }
    return answers;
  }
}
