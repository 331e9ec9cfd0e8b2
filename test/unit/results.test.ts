// Pass or fail per element against the template's pass mark, borderlines, and the sampling rule.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESULT_RULES, elementResult, type ElementResult } from '../../shared/moderation.ts';
import { sampleBucket, sampled } from '../../server/moderation/sampling.ts';

describe('element results', () => {
  it('passes at the pass mark and fails just below it, with two-decimal scores', () => {
    expect(elementResult('observation', [3, 3, 3, 2], DEFAULT_RESULT_RULES)).toMatchObject({ score: 2.75, outcome: 'pass', borderline: true });
    expect(elementResult('observation', [3, 2, 3, 2, 3, 3], DEFAULT_RESULT_RULES)).toMatchObject({ score: 2.67, outcome: 'fail', borderline: true });
    expect(elementResult('written', [4, 4, 3], DEFAULT_RESULT_RULES)).toMatchObject({ score: 3.67, outcome: 'pass', borderline: false });
    // Every mark at "Meets the standard" is a clear pass, and a clear fail is not borderline.
    expect(elementResult('written', [3, 3, 3, 3], DEFAULT_RESULT_RULES)).toMatchObject({ score: 3, outcome: 'pass', borderline: false });
    expect(elementResult('observation', [3, 2], DEFAULT_RESULT_RULES)).toMatchObject({ score: 2.5, outcome: 'fail', borderline: false });
    expect(elementResult('written', [1, 2, 2], { ...DEFAULT_RESULT_RULES, writtenPassMark: 1.5 })).toMatchObject({ outcome: 'pass', passMark: 1.5 });
  });

  it('has no outcome while a mark is missing, and says how many', () => {
    expect(elementResult('observation', [3, null, 4, null], DEFAULT_RESULT_RULES)).toMatchObject({ score: null, outcome: null, missing: 2 });
    expect(elementResult('written', [], DEFAULT_RESULT_RULES)).toMatchObject({ outcome: null, missing: 1 });
  });
});

describe('sampling for moderation', () => {
  const result = (outcome: 'pass' | 'fail' | null, borderline = false): ElementResult => ({
    element: 'observation', assessed: true, score: outcome ? 3 : null, passMark: 2.75, missing: outcome ? 0 : 1, outcome, borderline, carriedOver: null,
  });
  const rule = { includeFails: true, includeBorderline: true, passPercent: 0 };

  it('selects incomplete, failed and borderline results by the rule', () => {
    expect(sampled('s', [result(null)], rule)).toEqual({ selected: true, reason: 'marks incomplete' });
    expect(sampled('s', [result('fail')], rule)).toEqual({ selected: true, reason: 'fail' });
    expect(sampled('s', [result('pass', true)], rule)).toEqual({ selected: true, reason: 'borderline' });
    expect(sampled('s', [result('pass', true)], { ...rule, includeBorderline: false }).selected).toBe(false);
    expect(sampled('s', [result('fail')], { ...rule, includeFails: false }).selected).toBe(false);
  });

  it('samples about the set percentage of clear passes, the same ones every time', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `session-${i}`);
    const chosen = ids.filter((id) => sampled(id, [result('pass')], { ...rule, passPercent: 10 }).selected);
    expect(chosen.length).toBeGreaterThan(150);
    expect(chosen.length).toBeLessThan(250);
    expect(ids.filter((id) => sampled(id, [result('pass')], { ...rule, passPercent: 10 }).selected)).toEqual(chosen);
    expect(ids.every((id) => sampleBucket(id) >= 0 && sampleBucket(id) < 100)).toBe(true);
    expect(ids.filter((id) => sampled(id, [result('pass')], { ...rule, passPercent: 100 }).selected).length).toBe(2000);
  });
});
