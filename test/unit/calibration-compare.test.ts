// An attempt against the reference and the peers' mean: signed differences per domain, the
// tolerance (CALIBRATION_PASS_TOLERANCE) per domain, no peer mean without peers.
import { expect, it } from 'vitest';
import { CALIBRATION_PASS_TOLERANCE } from '../../shared/calibration.ts';
import { compareAttempt } from '../../server/calibration/calibration-service.ts';
import type { StoredAttempt } from '../../server/calibration/calibration-repo.ts';

const attempt = (observerName: string, ratings: Record<string, number>, passed = true): StoredAttempt => ({
  caseId: 'c',
  observerName,
  participantId: observerName,
  ratings,
  global: 4,
  passed,
  submittedAt: '2026-12-01T10:00:00.000Z',
});

it('gives each domain its difference from the reference and from the mean of the other observers', () => {
  const reference = { a: 3, b: 2 };
  const titles = new Map([['a', '1. A'], ['b', '2. B']]);
  const result = compareAttempt(reference, titles, attempt('me', { a: 4, b: 2 }), [attempt('p1', { a: 2, b: 1 }), attempt('p2', { a: 3, b: 4 })]);
  expect(result.peers).toBe(2);
  expect(result.tolerance).toBe(CALIBRATION_PASS_TOLERANCE);
  expect(result.domains).toEqual([
    { itemId: 'a', title: '1. A', rating: 4, reference: 3, fromReference: 1, peerMean: 2.5, fromPeers: 1.5, withinTolerance: true },
    { itemId: 'b', title: '2. B', rating: 2, reference: 2, fromReference: 0, peerMean: 2.5, fromPeers: -0.5, withinTolerance: true },
  ]);
});

it('marks a domain two points from the reference as outside the tolerance, and has no peer mean alone', () => {
  const result = compareAttempt({ a: 1 }, new Map(), attempt('me', { a: 3 }, false), []);
  expect(result.domains[0]).toMatchObject({ title: 'a', fromReference: 2, peerMean: null, fromPeers: null, withinTolerance: false });
});
