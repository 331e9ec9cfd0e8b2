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
    stillValid: (batch) => {
      // A batch with the broken one fails whole; it is then checked one by one.
      if (batch.some((c) => c.broken)) {
        if (batch.length > 1) throw new Error('database busy');
        throw new Error('database busy for this one');
      }
      if (tick.length === 0) queueMicrotask(() => (ticks.push(tick), (tick = [])));
      tick.push(...batch.map((c) => c.id));
      return batch.map((c) => !c.revoked);
    },
    end: (c) => {
      c.open = false;
      ended.push(c.id);
    },
    warn: (_context, message) => warnings.push(message),
  });
  await pollUntil('two rounds', 10_000, async () => ticks.flat().length >= 2 * 38);
  // Ten per tick (the closed one skipped; the broken one's slice checked one by one): never the whole round at once.
  expect(Math.max(...ticks.map((t) => t.length))).toBeLessThanOrEqual(10);
  expect(ended).toEqual([7]);
  expect(warnings.length).toBeGreaterThanOrEqual(1);
  expect(conns[8]!.open).toBe(true);
  expect(ticks.flat()).not.toContain(9);
});

it("checks one person's several connections once per slice, a slice's people in one call, and ends all of a person's when it fails", () => {
  // Fake timers: each slice's clock may be anywhere, and the verdict must still hold for the whole
  // slice (a clock-measured window once closed between two of one person's connections).
  vi.useFakeTimers();
  // Three connections of each of four people (adjacent, as one document's are); person 2 revoked.
  const conns = Array.from({ length: 12 }, (_, i) => ({ id: i, person: Math.floor(i / 3), open: true }));
  const checked: number[] = [];
  const ended: number[] = [];
  const batches: number[] = [];
  stop = revalidateInSlices<(typeof conns)[number]>({
    everyMs: 400,
    slices: 2,
    connections: () => conns,
    isOpen: (c) => c.open,
    stillValid: (batch) =>
      (batches.push(batch.length), batch).map((c) => {
        checked.push(c.person);
        // Each check takes 150 ms of the clock: longer than a slice's share of the interval.
        vi.setSystemTime(Date.now() + 150);
        return c.person !== 2;
      }),
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
  // Each slice's people are checked in one call (one database read).
  expect(batches).toEqual([2, 2, 2, 1]);
});
