// The equalities aggregate on hand-made cohorts: each candidate counted once (their latest
// outcome), "Prefer not to say" and people without answers left out, detailed ethnicities rolled
// up into the five groups, small groups unnumbered, and DIF refused (with the minimum named)
// while the largest group or the others pooled are under 10.
import { describe, expect, it } from 'vitest';
import type { CohortData, CohortOutcome } from '../../server/analytics/cohort-data.ts';
import { equalitiesReport } from '../../server/analytics/equalities-report.ts';
import type { EqualitiesAnswers } from '../../shared/equalities.ts';

const BASE: EqualitiesAnswers = { ageBand: '25-34', sex: 'female', ethnicity: 'white-british', disability: 'no', firstLanguageEnglish: 'yes' };

function outcome(candidate: string, observation: 'pass' | 'fail', when: number, rating = 3): CohortOutcome {
  const finals = ['kss-1', 'kss-2', 'kss-6'].flatMap((item) => [1, 2].map((scenario) => ({ scenario, item, rating })));
  return { sessionId: `${candidate}-${when}`, candidate, scheduledStart: when, observation, signedOff: false, finals };
}

describe('equalities report', () => {
  it('counts each candidate once, by their latest outcome, and leaves out "Prefer not to say" and people who did not answer', () => {
    const outcomes: CohortOutcome[] = [];
    const answers = new Map<string, EqualitiesAnswers>();
    for (let i = 0; i < 12; i++) {
      // A fail, then a pass on a later day: only the pass counts.
      outcomes.push(outcome(`a${i}`, 'fail', 1), outcome(`a${i}`, 'pass', 2));
      answers.set(`a${i}`, { ...BASE, sex: i < 11 ? 'female' : 'preferNotToSay', ethnicity: i % 2 ? 'indian' : 'pakistani' });
    }
    outcomes.push(outcome('nobody', 'fail', 3)); // no answers: not counted
    const report = equalitiesReport({ ratings: [], outcomes } satisfies CohortData, answers, { from: null, to: null });
    if (!report.outcomes.ok) throw new Error(report.outcomes.reason);
    const by = (c: string) => report.outcomes.ok && report.outcomes.result.characteristics.find((x) => x.characteristic === c)!.groups;
    expect(by('sex')).toEqual([{ group: 'female', n: 11, passed: 11, rate: 1, ci95: expect.any(Array), ratio: 1, suppressed: false }]);
    // Indian and Pakistani are both "asian": 12 together, 6 each in detail (suppressed).
    expect(by('ethnicGroup')).toMatchObject([{ group: 'asian', n: 12, passed: 12 }]);
    expect(by('ethnicity')).toEqual([
      { group: 'pakistani', suppressed: true },
      { group: 'indian', suppressed: true },
    ]);
    // Everyone is in one group: no focal group to compare with.
    const ethnic = report.dif.find((d) => d.characteristic === 'ethnicGroup')!;
    expect(ethnic.reference).toBe('asian');
    expect(ethnic.dif).toEqual({ ok: false, reason: 'needs at least 10 candidates in the largest group and 10 in the other groups together' });
    expect(JSON.stringify(report)).not.toMatch(/"a\d+"|nobody/);
  });

  it('says "not enough data" when nobody in the range answered', () => {
    const report = equalitiesReport({ ratings: [], outcomes: [outcome('x', 'pass', 1)] }, new Map(), { from: '2026-01-01', to: null });
    expect(report.outcomes).toEqual({ ok: false, reason: 'no candidate in this range has both an observation outcome and equalities answers' });
    expect(report.from).toBe('2026-01-01');
    for (const d of report.dif) expect(d.dif.ok).toBe(false);
  });
});
