// Sign-ins are checked again in slices: every connection once a round, a share of them per tick,
// so that no tick holds every message up. A revoked one is ended; one whose check fails is kept.
import { afterEach, expect, it, vi } from 'vitest';
import { revalidateInSlices } from '../../server/auth/revalidation.ts';
import { pollUntil } from '../helpers/browser.ts';

interface Conn {
  id: number;
  open: boolean;
  revoked: boolean;
  broken: boolean;
}

let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  vi.useRealTimers();
});

it('checks a share of the connections per tick, ends the revoked and keeps the unknown', async () => {
  const conns: Conn[] = Array.from({ length: 40 }, (_, id) => ({ id, open: true, revoked: id === 7, broken: id === 8 }));
  conns[9]!.open = false;
  const ticks: number[][] = [];
  let tick: number[] = [];
  const ended: number[] = [];
  const warnings: string[] = [];
  stop = revalidateInSlices<Conn>({
    everyMs: 400,
    slices: 4,
    connections: () => conns,
    isOpen: (c) => c.open,
    stillValid: (c) => {
      if (tick.length === 0) queueMicrotask(() => (ticks.push(tick), (tick = [])));
      tick.push(c.id);
      if (c.broken) throw new Error('database busy');
      return !c.revoked;
    },
    end: (c) => {
      c.open = false;
      ended.push(c.id);
    },
    warn: (_context, message) => warnings.push(message),
  });
  await pollUntil('two rounds', 10_000, async () => ticks.flat().length >= 2 * 38);
  // Ten per tick (the closed one skipped): never the whole round at once.
  expect(Math.max(...ticks.map((t) => t.length))).toBeLessThanOrEqual(10);
  expect(ended).toEqual([7]);
  expect(warnings.length).toBeGreaterThanOrEqual(1);
  expect(conns[8]!.open).toBe(true);
  expect(ticks.flat()).not.toContain(9);
});

it("checks one person's several connections once per slice, and ends all of them when it fails", () => {
  // Fake timers: each slice's clock may be anywhere, and the verdict must still hold for the whole
  // slice (a clock-measured window once closed between two of one person's connections).
  vi.useFakeTimers();
  // Three connections of each of four people (adjacent, as one document's are); person 2 revoked.
  const conns = Array.from({ length: 12 }, (_, i) => ({ id: i, person: Math.floor(i / 3), open: true }));
  const checked: number[] = [];
  const ended: number[] = [];
  stop = revalidateInSlices<(typeof conns)[number]>({
    everyMs: 400,
    slices: 2,
    connections: () => conns,
    isOpen: (c) => c.open,
    stillValid: (c) => {
      checked.push(c.person);
      // Each check takes 150 ms of the clock: longer than a slice's share of the interval.
      vi.setSystemTime(Date.now() + 150);
      return c.person !== 2;
    },
    signIn: (c) => `person ${c.person}`,
    end: (c) => {
      c.open = false;
      ended.push(c.id);
    },
    warn: () => {},
  });
  vi.advanceTimersByTime(200);
  // The first slice: persons 0 and 1, one check each.
  expect(checked).toEqual([0, 1]);
  vi.advanceTimersByTime(200);
  expect(checked).toEqual([0, 1, 2, 3]);
  expect(ended).toEqual([6, 7, 8]);
  vi.advanceTimersByTime(400);
  // The next round checks again (a verdict never outlives its slice); the ended are skipped.
  expect(checked).toEqual([0, 1, 2, 3, 0, 1, 3]);
});
