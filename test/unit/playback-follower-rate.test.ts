// How the playback page corrects a follower video's drift from the master while playing
// (client/playback/playback-sync.svelte.ts): left alone within a few ms, nudged by a few percent
// of speed towards the master for a small drift, stopped and started with everyone beyond
// RESYNC_DRIFT_MS — which is below the 100 ms issue 17 promises, so a drift is caught first.
import { describe, expect, it } from 'vitest';
import { followerRate, RESYNC_DRIFT_MS } from '../../client/playback/playback-sync.svelte.ts';

describe('followerRate', () => {
  it('leaves a follower within a few ms alone (no hunting)', () => {
    for (const drift of [0, 5, -5, 15, -15]) expect(followerRate(drift)).toBe(1);
  });

  it('speeds up a follower that is behind and slows one that is ahead, by a few percent at most', () => {
    const behind = followerRate(-40);
    const ahead = followerRate(40);
    expect(behind).toBeGreaterThan(1);
    expect(ahead).toBeLessThan(1);
    expect(behind).toBeCloseTo(2 - (ahead as number), 10); // symmetric
    for (let drift = -RESYNC_DRIFT_MS; drift <= RESYNC_DRIFT_MS; drift += 5) {
      const rate = followerRate(drift) as number;
      expect(Math.abs(rate - 1)).toBeLessThanOrEqual(0.05 + 1e-9);
    }
  });

  it('nudges harder the further a follower has drifted', () => {
    expect(followerRate(-60) as number).toBeGreaterThan(followerRate(-20) as number);
    expect(followerRate(60) as number).toBeLessThan(followerRate(20) as number);
  });

  it('stops everyone and starts together beyond the bound, which is inside the promised 100 ms', () => {
    expect(RESYNC_DRIFT_MS).toBeLessThan(100);
    expect(followerRate(RESYNC_DRIFT_MS + 1)).toBe('resync');
    expect(followerRate(-RESYNC_DRIFT_MS - 1)).toBe('resync');
    expect(followerRate(-250)).toBe('resync');
    expect(followerRate(RESYNC_DRIFT_MS)).not.toBe('resync');
  });
});
