// Which completed sessions a moderator must look at: by the sampling rule, every fail and
// borderline plus a stable percentage of the clear passes. The pass sample is chosen by a
// hash of the session id, so it does not change between page loads and can be audited.
import { createHash } from 'node:crypto';
import type { ElementResult, SamplingRule } from '../../shared/moderation.ts';

/** Where a sampling rule is stored, in the order it is looked for: the organisation's own, then
 *  the studio-wide rule (the one saved before organisations had their own, the default for
 *  every organisation that has not set one). */
export function samplingSettingKeys(organisationId?: string): string[] {
  return organisationId ? [`moderation.sampling:${organisationId}`, 'moderation.sampling'] : ['moderation.sampling'];
}

export function sampleBucket(sessionId: string): number {
  return createHash('sha256').update(sessionId).digest().readUInt32BE(0) % 100;
}

export function sampled(sessionId: string, results: ElementResult[], rule: SamplingRule): { selected: boolean; reason: string } {
  const assessed = results.filter((r) => r.assessed);
  if (assessed.some((r) => r.outcome === null)) return { selected: true, reason: 'marks incomplete' };
  if (rule.includeFails && assessed.some((r) => r.outcome === 'fail')) return { selected: true, reason: 'fail' };
  if (rule.includeBorderline && assessed.some((r) => r.borderline)) return { selected: true, reason: 'borderline' };
  if (sampleBucket(sessionId) < rule.passPercent) return { selected: true, reason: `${rule.passPercent}% sample of passes` };
  return { selected: false, reason: assessed.some((r) => r.outcome === 'fail') ? 'fail (fails not sampled)' : 'pass, not in the sample' };
}
