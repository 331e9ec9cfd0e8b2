// A seeded source of random choices for the fuzzer (server/assessment/draw.ts's mulberry32).
// Each stream of messages gets its own generator, derived from the seed and a label, so that
// what a stream sends is the same on every run of the seed however the streams interleave.
import { seededRandom } from '../../server/assessment/draw.ts';

export class Rng {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = seededRandom(seed);
  }

  /** A generator for one stream of this seed (FNV-1a of the label mixed into the seed). */
  static derive(seed: number, label: string): Rng {
    let h = 0x811c9dc5 ^ seed;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Rng(h >>> 0);
  }

  float(): number {
    return this.next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('nothing to pick from');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(options: ReadonlyArray<readonly [number, T]>): T {
    const total = options.reduce((sum, [w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [w, value] of options) {
      roll -= w;
      if (roll < 0) return value;
    }
    return options[options.length - 1]![1];
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  /** A string of `length` characters from `alphabet` (default: printable ASCII). */
  string(length: number, alphabet = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }

  /** Lengths skewed towards small ones, now and then near `max`. */
  size(max: number): number {
    return this.weighted([
      [6, this.int(0, Math.min(16, max))],
      [3, this.int(0, Math.min(512, max))],
      [1, this.int(0, max)],
    ]);
  }
}
