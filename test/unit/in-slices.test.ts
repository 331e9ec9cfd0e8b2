// Work over every live connection (heartbeat pings, sign-in re-checks) is spread over slices of
// its interval: each tick visits a share, a round visits everyone once, and a connection that
// arrives mid-round waits for the next round rather than stretching this one.
import { afterEach, expect, it, vi } from 'vitest';
import { everyInSlices } from '../../server/in-slices.ts';

afterEach(() => vi.useRealTimers());

it('visits a share of the items per tick and each item once a round; newcomers join the next round', () => {
  vi.useFakeTimers();
  const items = Array.from({ length: 90 }, (_, i) => i);
  const visits: number[][] = [];
  let tick: number[] = [];
  const stop = everyInSlices<number>({ everyMs: 3000, slices: 30, items: () => items, visitSlice: (slice) => tick.push(...slice) });
  const advance = (): void => {
    vi.advanceTimersByTime(100);
    visits.push(tick);
    tick = [];
  };
  for (let t = 0; t < 15; t++) advance();
  // Half a round: 3 per tick, in order, nobody twice.
  expect(visits.every((v) => v.length === 3)).toBe(true);
  expect(visits.flat()).toEqual(items.slice(0, 45));
  items.push(90);
  for (let t = 0; t < 15; t++) advance();
  // The round ends as it began: the newcomer is not in it.
  expect(visits.flat()).toEqual(items.slice(0, 90));
  advance();
  // The next round takes everyone, the newcomer included (91 → 4 per tick).
  expect(visits.at(-1)).toEqual([0, 1, 2, 3]);
  for (let t = 0; t < 22; t++) advance();
  expect(visits.slice(30).flat()).toEqual(items);
  stop();
  advance();
  expect(visits.at(-1)).toEqual([]);
});
