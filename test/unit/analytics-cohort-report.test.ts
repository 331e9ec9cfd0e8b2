// The studio's cohort panels from rating rows: calibration cases count toward an observer's
// stringency (each case a candidate of its own), and an empty cohort says why, never NaN.
import { describe, expect, it } from 'vitest';
import type { CohortData, CohortRating } from '../../server/analytics/cohort-data.ts';
import { cohortAnalytics, ownStringency } from '../../server/analytics/cohort-report.ts';

/** Six candidates, each seen by two of three observers; "Harsh" rates one point lower. */
function cohort(): CohortData {
  const observers = ['Ann', 'Bea', 'Harsh'];
  const ratings: CohortRating[] = [];
  for (let c = 0; c < 12; c++) {
    const pair = [observers[c % 3]!, observers[(c + 1) % 3]!];
    for (const [i, rater] of pair.entries()) {
      for (const item of ['kss-1', 'kss-2']) {
        const base = 2 + (c % 3) * 0.5 + (item === 'kss-2' ? 0.5 : 0);
        ratings.push({
          sessionId: `s${c}`,
          candidate: `c${c}`,
          rater,
          raterParticipantId: `${rater}-${c}`,
          lead: i === 0,
          scenario: 1,
          item,
          score: Math.round(base - (rater === 'Harsh' ? 1 : 0) + ((c * 7 + i) % 3) * 0.1),
          global: 4,
          actor: null,
        });
      }
    }
  }
  return { ratings, outcomes: [] };
}

describe('cohort panels', () => {
  it('adds calibration ratings to the observers they belong to', () => {
    const data = cohort();
    const without = cohortAnalytics(data, { from: null, to: null });
    const calibration = ['kss-1', 'kss-2'].flatMap((item) => ['Ann', 'Harsh'].map((rater) => ({ candidate: 'calibration:case-1', rater, score: rater === 'Harsh' ? 2 : 3, item })));
    const withCalibration = cohortAnalytics(data, { from: null, to: null }, calibration);
    if (!without.stringency.ok || !withCalibration.stringency.ok) throw new Error('stringency missing');
    const n = (r: typeof without.stringency.result, rater: string) => r.raters.find((x) => x.rater === rater)!.n;
    expect(n(withCalibration.stringency.result, 'Harsh')).toBe(n(without.stringency.result, 'Harsh') + 2);
    expect(n(withCalibration.stringency.result, 'Ann')).toBe(n(without.stringency.result, 'Ann') + 2);
    expect(n(withCalibration.stringency.result, 'Bea')).toBe(n(without.stringency.result, 'Bea'));
    const own = ownStringency(data, 'Harsh', calibration);
    expect(own.effect!.n).toBe(n(withCalibration.stringency.result, 'Harsh'));
    expect(own.effect!.effect).toBeLessThan(0);
  });

  it('says why each panel is empty for a cohort without ratings', () => {
    const empty = cohortAnalytics({ ratings: [], outcomes: [] }, { from: '2000-01-01', to: '2000-01-31' });
    expect(empty.sessions).toBe(0);
    for (const panel of [empty.reliability, empty.stringency, empty.actors, empty.brm]) {
      expect(panel.ok).toBe(false);
      if (!panel.ok) expect(panel.reason).toMatch(/^no /);
    }
  });
});
