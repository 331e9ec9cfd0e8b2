// A segment's timeline stays with its frames' arrivals over a long scenario. Seen under heavy
// load (three busy cores beside the whole suite): the participant recorded in one segment for
// 146 s had a file of 128 s — the timeline had slid 17.5 s before the arrivals, so the scenario's
// last seconds lay before the cut and were never waited for. A sender whose clock runs slow
// against the server's, and a report gone stale, must not carry the timeline away.
import { describe, expect, it } from 'vitest';
import type { ParticipantTap, TapFrame } from '../../media/recording/media-tap.ts';
import { SegmentClock } from '../../media/recording/segment-recorder.ts';

type SenderClock = (rtpMs: number) => number | null;

/** A tap whose one track (audio) reports sender times by `sender` (null: no report fits). */
function tapWith(sender: SenderClock | null): ParticipantTap {
  const track = { hasReport: sender !== null, senderMsOf: (rtpMs: number) => sender?.(rtpMs) ?? null };
  return { tracks: new Map([['audio', track]]) } as unknown as ParticipantTap;
}

/** Audio frames 20 ms apart in RTP time, arriving `pace` times slower (a starved sender's clock). */
function frames(seconds: number, pace: number, arrivalStart = 1_000_000): TapFrame[] {
  return Array.from({ length: (seconds * 1000) / 20 }, (_, i) => ({
    kind: 'audio' as const,
    keyframe: true,
    data: Buffer.alloc(0),
    rtpMs: i * 20,
    arrivalMs: arrivalStart + i * 20 * pace,
  }));
}

describe('a segment clock', () => {
  it('keeps frames of a sender whose clock runs 12 % slow within the cut wait of their arrival, for 146 s', () => {
    const all = frames(128, 146 / 128);
    const clock = new SegmentClock(tapWith(null), all.slice(0, 50));
    const lags = all.map((f) => f.arrivalMs - clock.serverMs(f));
    expect(Math.max(...lags)).toBeLessThanOrEqual(1500);
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
    // The last frame lies where the scenario ended, not 17.5 s before it.
    const last = all.at(-1)!;
    expect(last.arrivalMs - all[0]!.arrivalMs).toBeGreaterThan(145_000);
    expect(clock.serverMs(last) - clock.serverMs(all[0]!)).toBeGreaterThan(145_000 - 1500);
  });

  it('leaves a steady sender exactly as its reports time it', () => {
    // Reports: the sender's clock is 5 s ahead of the server's; frames take 40 ms to arrive.
    const all = frames(60, 1);
    const sender: SenderClock = (rtpMs) => all[0]!.arrivalMs - 40 + rtpMs + 5000;
    const clock = new SegmentClock(tapWith(sender), all.slice(0, 50));
    expect(clock.timing).toBe('sender-report');
    for (const f of all) expect(clock.serverMs(f)).toBe(f.arrivalMs);
  });

  it('gives the move back when fresh reports time the frames right again', () => {
    // For the first 60 s the report in hand is stale and the sender's clock slow: its times
    // slide before the arrivals. Then a fresh report times every frame 40 ms before arrival.
    const all = frames(120, 1.15);
    const byArrival = new Map(all.map((f) => [f.rtpMs, f.arrivalMs]));
    const sender: SenderClock = (rtpMs) => (rtpMs < 60_000 ? all[0]!.arrivalMs + rtpMs : byArrival.get(rtpMs)! - 40);
    const clock = new SegmentClock(tapWith(sender), all.slice(0, 50));
    const placed = all.map((f) => ({ f, at: clock.serverMs(f) }));
    for (const { f, at } of placed) {
      expect(f.arrivalMs - at).toBeLessThanOrEqual(1500);
      expect(at).toBeLessThanOrEqual(f.arrivalMs);
    }
    // From the fresh report on, frames are no later than their arrival and no earlier than the
    // report puts them: the move made in the stale stretch (about 9 s by then) is given back as
    // far as their arrival allows.
    const after = placed.filter(({ f }) => f.rtpMs >= 60_000);
    expect(after.length).toBeGreaterThan(2000);
    for (const { f, at } of after) expect(at).toBeGreaterThanOrEqual(f.arrivalMs - 40);
  });

  it('places held frames once each, in the order they arrived, whatever order they are held in', () => {
    // The stale-then-fresh report above: frames' places depend on the frames placed before them.
    const all = frames(120, 1.15);
    const byArrival = new Map(all.map((f) => [f.rtpMs, f.arrivalMs]));
    const sender: SenderClock = (rtpMs) => (rtpMs < 60_000 ? all[0]!.arrivalMs + rtpMs : byArrival.get(rtpMs)! - 40);
    const asTheyCame = new SegmentClock(tapWith(sender), all.slice(0, 50));
    const expected = all.map((f) => asTheyCame.serverMs(f));
    // Placed in another order, the same frames land elsewhere: the order is what matters.
    const backwards = new SegmentClock(tapWith(sender), all.slice(0, 50));
    const misplaced = [...all].reverse().map((f) => [f, backwards.serverMs(f)] as const);
    expect(misplaced.filter(([f, at]) => at !== expected[all.indexOf(f)]).length).toBeGreaterThan(100);
    // Held in reverse (as a segment holds one track's frames after another's), placed as they came.
    const held = new SegmentClock(tapWith(sender), all.slice(0, 50)).placeHeld([...all].reverse());
    expect(all.map((f) => held.get(f))).toEqual(expected);
  });
});
