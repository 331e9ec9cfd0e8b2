// Fisher's exact test of an r×2 table (groups × pass/fail), as R's stats::fisher.test computes it:
// the probability, under fixed margins, of every table no more probable than the observed one.
//
// A network algorithm (after Mehta & Patel 1983). Groups are placed one at a time, smallest first;
// a node is (groups placed j, passes still to place k) and carries the distinct log-probabilities
// of the paths reaching it ("pasts"), merged when equal. Memoised per node: the most and the least
// probable completion, and the hypergeometric distribution of the next group's passes. Given a
// past, the next group's counts whose every completion is at most as probable as the observed
// table form two tails (the most probable completion is concave in the count), found by binary
// search and counted whole from the memoised cumulative sums; only the counts between the tails
// branch. The largest groups are not branched over by every past (meet in the middle): per k their
// completions are listed once (by the same pruned, merged network, keeping only those that some
// but not every past reaching k would count), sorted, with running sums, and each past reaching
// them is settled by one binary search.

/** Tables this close to the observed one's log-probability count as ties, as in R: a 2×2 table
 * goes through dhyper with a relative error of 1e-7, larger ones through FEXACT's 3.45254e-7. */
const TIE_TOLERANCE_2X2 = Math.log1p(1e-7);
const TIE_TOLERANCE_RX2 = 3.45254e-7;
/** Pasts closer than this (in log-probability) merge: far below the tie tolerance. */
const MERGE_GRID = 1e-9;
/** The share of the table (by Σ ln(n + 1), the last group aside) whose completions are listed
 * rather than branched over: both sides are pruned by the bounds and merged, and this balance
 * was the fastest on ten groups of about 500 candidates. */
const LISTED_SHARE = 0.4;

export interface PassFail {
  passed: number;
  failed: number;
}

interface Group {
  n: number;
  x: number;
}

/** Two-sided p of Fisher's exact test on groups × (passed, failed); 1 when a column is empty. */
export function fisherExactP(rows: readonly PassFail[]): number {
  const groups: Group[] = rows
    .map((r) => ({ n: r.passed + r.failed, x: r.passed }))
    .filter((g) => g.n > 0)
    .sort((a, b) => a.n - b.n);
  const total = groups.reduce((s, g) => s + g.n, 0);
  const passes = groups.reduce((s, g) => s + g.x, 0);
  if (groups.length < 2 || passes === 0 || passes === total) return 1;
  return new Network(groups, total, passes).p();
}

class Network {
  private readonly r: number;
  private readonly lf: Float64Array;
  /** remaining[j]: candidates in groups j..r−1. */
  private readonly remaining: number[];
  /** most[j][k] / least[j][k]: the largest / smallest Σ ln C(n_i, x_i) over groups j..r−1 placing k passes. */
  private readonly most: Float64Array[] = [];
  private readonly least: Float64Array[] = [];
  /** Groups split..r−1 are settled from sorted lists of their completions. */
  private readonly split: number;
  private readonly threshold: number;
  private readonly lnAll: number;
  private readonly nextCounts = new Map<number, { mode: number; fromLow: Float64Array; fromHigh: Float64Array }>();
  private readonly lists: Array<{ always: number; values: Float64Array; below: Float64Array } | undefined> = [];
  /** pastMost[m] / pastLeast[m]: the largest / smallest Σ ln C(n_i, x_i) over groups 0..split−1 placing m passes. */
  private readonly pastMost: Float64Array;
  private readonly pastLeast: Float64Array;
  private readonly groups: Group[];
  private readonly passes: number;
  private total = 0;

  constructor(groups: Group[], candidates: number, passes: number) {
    this.groups = groups;
    this.passes = passes;
    const r = (this.r = groups.length);
    this.lf = new Float64Array(candidates + 1);
    for (let i = 2; i <= candidates; i++) this.lf[i] = this.lf[i - 1]! + Math.log(i);
    this.remaining = new Array<number>(r + 1).fill(0);
    for (let j = r - 1; j >= 0; j--) this.remaining[j] = this.remaining[j + 1]! + groups[j]!.n;
    for (let j = r - 1; j >= 0; j--) {
      const n = groups[j]!.n;
      const top = Math.min(passes, this.remaining[j]!);
      const hi = new Float64Array(top + 1).fill(-Infinity);
      const lo = new Float64Array(top + 1).fill(Infinity);
      for (let k = 0; k <= top; k++) {
        for (let x = this.lowest(j, k); x <= Math.min(n, k); x++) {
          const w = this.lnChoose(n, x);
          hi[k] = Math.max(hi[k]!, j === this.r - 1 ? w : w + this.most[j + 1]![k - x]!);
          lo[k] = Math.min(lo[k]!, j === this.r - 1 ? w : w + this.least[j + 1]![k - x]!);
        }
      }
      this.most[j] = hi;
      this.least[j] = lo;
    }
    let split = r - 1;
    const weight = (j: number): number => Math.log(groups[j]!.n + 1);
    const whole = groups.reduce((s, _, j) => s + weight(j), 0);
    for (let listed = 0; split > 0 && listed + weight(split - 1) <= LISTED_SHARE * whole; split--) listed += weight(split - 1);
    this.split = split;
    let most = new Float64Array(passes + 1).fill(-Infinity);
    let least = new Float64Array(passes + 1).fill(Infinity);
    most[0] = least[0] = 0;
    for (let j = 0; j < split; j++) {
      const n = groups[j]!.n;
      const nextMost = new Float64Array(passes + 1).fill(-Infinity);
      const nextLeast = new Float64Array(passes + 1).fill(Infinity);
      for (let m = 0; m <= passes; m++) {
        if (most[m] === -Infinity) continue;
        for (let x = 0; x <= Math.min(n, passes - m); x++) {
          const w = this.lnChoose(n, x);
          nextMost[m + x] = Math.max(nextMost[m + x]!, most[m]! + w);
          nextLeast[m + x] = Math.min(nextLeast[m + x]!, least[m]! + w);
        }
      }
      most = nextMost;
      least = nextLeast;
    }
    this.pastMost = most;
    this.pastLeast = least;
    const observed = groups.reduce((s, g) => s + this.lnChoose(g.n, g.x), 0);
    this.threshold = observed + (r === 2 ? TIE_TOLERANCE_2X2 : TIE_TOLERANCE_RX2);
    this.lnAll = this.lnChoose(candidates, passes);
  }

  private lnChoose(n: number, k: number): number {
    return this.lf[n]! - this.lf[k]! - this.lf[n - k]!;
  }

  /** The fewest passes group j can take when k are left for groups j..r−1. */
  private lowest(j: number, k: number): number {
    return Math.max(0, k - this.remaining[j + 1]!);
  }

  p(): number {
    let level = new PastTable(16);
    level.add(this.passes, 0, 1);
    if (this.split === 0) {
      this.settleFromList(this.passes, 0, 1);
      return Math.min(1, this.total);
    }
    for (let j = 0; j < this.split; j++) {
      const next = j + 1 < this.split ? new PastTable(level.size * 4) : null;
      for (let e = 0; e < level.size; e++) this.branch(j, level.left[e]!, level.past[e]!, level.paths[e]!, next);
      if (next) level = next;
    }
    return Math.min(1, this.total);
  }

  /** Places group j's passes after `past`, k passes left; children go to `next`, or (at the
   * split) straight to the completion lists. */
  private branch(j: number, k: number, past: number, paths: number, next: PastTable | null): void {
    const { threshold } = this;
    if (past + this.most[j]![k]! <= threshold) {
      this.total += paths * Math.exp(past + this.lnChoose(this.remaining[j]!, k) - this.lnAll);
      return;
    }
    if (past + this.least[j]![k]! > threshold) return;
    const n = this.groups[j]!.n;
    const low = this.lowest(j, k);
    const high = Math.min(n, k);
    const { mode, fromLow, fromHigh } = this.counts(j, k);
    // best(x): the most probable table through x passes here; concave in x, peaking at mode.
    const best = (x: number): number => past + this.lnChoose(n, x) + this.most[j + 1]![k - x]!;
    let a = low;
    let b = mode; // first x in [low, mode] with best(x) > threshold
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (best(mid) > threshold) b = mid;
      else a = mid + 1;
    }
    const first = a;
    a = mode;
    b = high; // last x in [mode, high] with best(x) > threshold
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (best(mid) > threshold) a = mid;
      else b = mid - 1;
    }
    const last = a;
    const tails = (first > low ? fromLow[first - 1 - low]! : 0) + (last < high ? fromHigh[last + 1 - low]! : 0);
    if (tails > 0) this.total += paths * Math.exp(past + this.lnChoose(this.remaining[j]!, k) - this.lnAll) * tails;
    for (let x = first; x <= last; x++) {
      const child = past + this.lnChoose(n, x);
      if (child + this.least[j + 1]![k - x]! > threshold) continue;
      if (next) next.add(k - x, child, paths);
      else this.settleFromList(k - x, child, paths);
    }
  }

  /** Node (j, k): where best(x) peaks, and the hypergeometric probabilities of group j taking x
   * of the k passes, summed from either end (no cancellation in either tail). */
  private counts(j: number, k: number): { mode: number; fromLow: Float64Array; fromHigh: Float64Array } {
    const key = j * (this.passes + 1) + k;
    let found = this.nextCounts.get(key);
    if (found) return found;
    const n = this.groups[j]!.n;
    const low = this.lowest(j, k);
    const high = Math.min(n, k);
    const lnNode = this.lnChoose(this.remaining[j]!, k);
    const probability = new Float64Array(high - low + 1);
    let mode = low;
    let peak = -Infinity;
    for (let x = low; x <= high; x++) {
      const w = this.lnChoose(n, x);
      probability[x - low] = Math.exp(w + this.lnChoose(this.remaining[j + 1]!, k - x) - lnNode);
      if (w + this.most[j + 1]![k - x]! > peak) {
        peak = w + this.most[j + 1]![k - x]!;
        mode = x;
      }
    }
    const fromLow = new Float64Array(probability.length);
    const fromHigh = new Float64Array(probability.length);
    for (let i = 0, s = 0; i < probability.length; i++) fromLow[i] = s += probability[i]!;
    for (let i = probability.length - 1, s = 0; i >= 0; i--) fromHigh[i] = s += probability[i]!;
    this.nextCounts.set(key, (found = { mode, fromLow, fromHigh }));
    return found;
  }

  /** Adds the completions of groups split..r−1 (k passes) that leave the table at most as probable as observed. */
  private settleFromList(k: number, past: number, paths: number): void {
    const { always, values, below } = this.completions(k);
    const room = this.threshold - past;
    let a = 0;
    let b = values.length; // count of values ≤ threshold − past
    // Most pasts lie wholly below or above the listed band: no search then.
    if (b === 0 || values[0]! > room) b = 0;
    else if (values[b - 1]! <= room) a = b;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (values[mid]! <= room) a = mid + 1;
      else b = mid;
    }
    const share = a > 0 ? below[a - 1]! : always;
    if (share > 0) this.total += paths * Math.exp(past + this.lnChoose(this.remaining[this.split]!, k) - this.lnAll) * share;
  }

  /** Completions of groups split..r−1 with k passes, relative to all of them: the mass of those
   * every past reaching k counts (`always`), and, sorted, the log-probabilities of those only
   * some pasts count, with running sums of their probabilities after `always`. The rest, which
   * no past counts, are left out; whole subtrees are settled by the memoised bounds. */
  private completions(k: number): { always: number; values: Float64Array; below: Float64Array } {
    const known = this.lists[k];
    if (known) return known;
    const alwaysUpTo = this.threshold - this.pastMost[this.passes - k]!;
    const neverAbove = this.threshold - this.pastLeast[this.passes - k]!;
    const lnNode = this.lnChoose(this.remaining[this.split]!, k);
    let always = 0;
    let level = new PastTable(16);
    level.add(k, 0, 1);
    const values: number[] = [];
    const counts: number[] = [];
    for (let j = this.split; j < this.r; j++) {
      const next = new PastTable(level.size * 4);
      const n = this.groups[j]!.n;
      for (let e = 0; e < level.size; e++) {
        const left = level.left[e]!;
        const sum = level.past[e]!;
        const paths = level.paths[e]!;
        if (sum + this.most[j]![left]! <= alwaysUpTo) {
          always += paths * Math.exp(sum + this.lnChoose(this.remaining[j]!, left) - lnNode);
          continue;
        }
        if (sum + this.least[j]![left]! > neverAbove) continue;
        if (j === this.r - 1) {
          values.push(sum + this.lnChoose(n, left));
          counts.push(paths);
        } else for (let x = this.lowest(j, left); x <= Math.min(n, left); x++) next.add(left - x, sum + this.lnChoose(n, x), paths);
      }
      level = next;
    }
    const order = Array.from(values.keys()).sort((a, b) => values[a]! - values[b]!);
    const sorted = new Float64Array(order.length);
    const below = new Float64Array(order.length);
    for (let i = 0, s = always; i < order.length; i++) {
      sorted[i] = values[order[i]!]!;
      below[i] = s += counts[order[i]!]! * Math.exp(sorted[i]! - lnNode);
    }
    const list = { always, values: sorted, below };
    this.lists[k] = list;
    return list;
  }
}

/** An open-addressing hash of pasts keyed by (passes left, log-probability on the merge grid),
 * in typed arrays: a level of the network can hold millions of them. */
class PastTable {
  left: Int32Array;
  past: Float64Array;
  paths: Float64Array;
  size = 0;
  private grid: Float64Array;
  private slots: Int32Array;

  constructor(expected: number) {
    const capacity = 1 << Math.max(4, Math.ceil(Math.log2(expected + 1)));
    this.left = new Int32Array(capacity);
    this.past = new Float64Array(capacity);
    this.paths = new Float64Array(capacity);
    this.grid = new Float64Array(capacity);
    this.slots = new Int32Array(capacity * 2).fill(-1);
  }

  add(left: number, past: number, paths: number): void {
    const grid = Math.round(past / MERGE_GRID);
    const mask = this.slots.length - 1;
    let slot = Math.imul((grid >>> 0) ^ Math.imul((grid / 4294967296) >>> 0, 0x27d4eb2f) ^ Math.imul(left, 0x9e3779b1), 0x85ebca6b) & mask;
    for (;;) {
      const e = this.slots[slot]!;
      if (e === -1) break;
      if (this.grid[e] === grid && this.left[e] === left) {
        this.paths[e]! += paths;
        return;
      }
      slot = (slot + 1) & mask;
    }
    if (this.size === this.left.length) {
      this.grow();
      this.add(left, past, paths);
      return;
    }
    const e = this.size++;
    this.left[e] = left;
    this.past[e] = past;
    this.paths[e] = paths;
    this.grid[e] = grid;
    this.slots[slot] = e;
  }

  private grow(): void {
    const { left, past, paths, size } = this;
    const capacity = this.left.length * 2;
    this.left = new Int32Array(capacity);
    this.past = new Float64Array(capacity);
    this.paths = new Float64Array(capacity);
    this.grid = new Float64Array(capacity);
    this.slots = new Int32Array(capacity * 2).fill(-1);
    this.size = 0;
    for (let e = 0; e < size; e++) this.add(left[e]!, past[e]!, paths[e]!);
  }
}
