// Live connections' sign-ins are checked again every few seconds (issue 13: a revoked link, an
// ended staff sign-in or a removed person loses their connection within seconds). Each check is a
// few database reads, so a round is spread over slices of its interval (server/in-slices.ts): the
// connections open when a round begins, a share of them per slice.
import { everyInSlices } from '../in-slices.ts';

export interface RevalidationOptions<T> {
  /** One round checks every connection once in this long (default REVALIDATE_MS). */
  everyMs?: number;
  /** A round is spread over this many ticks (default REVALIDATE_SLICES). */
  slices?: number;
  /** The connections to check, taken when a round begins. */
  connections: () => Iterable<T>;
  /** Whether the connection is still open (one closed since its round began is skipped). */
  isOpen: (connection: T) => boolean;
  /** Whether each one's sign-in still holds, in one go (one read for many, where the store
   *  can: on PostgreSQL a read is a round trip the serving thread waits for). Throwing:
   *  unknown, they are kept. */
  stillValid: (connections: T[]) => boolean[];
  /**
   * The sign-in a connection rests on: connections with the same key (one person's several
   * connections, visited in the same slice) share one check.
   */
  signIn?: (connection: T) => string;
  /** Ends a connection whose sign-in has ended. */
  end: (connection: T) => void;
  /** Where a failed check is reported (a rate-limited warning). */
  warn: (context: Record<string, unknown>, message: string) => void;
}

/** How often live connections' sign-ins are checked again. */
export const REVALIDATE_MS = 2_000;
/** A round of those checks is spread over this many slices of the interval. */
export const REVALIDATE_SLICES = 20;

/** Starts the checks; the returned function stops them. */
export function revalidateInSlices<T>(options: RevalidationOptions<T>): () => void {
  const everyMs = options.everyMs ?? REVALIDATE_MS;
  const slices = options.slices ?? REVALIDATE_SLICES;
  // One check per sign-in and slice (a slice runs at once, so this never delays an ending;
  // a window measured by the clock could close between two of one person's connections on a
  // busy machine and check that person twice).
  const visitSlice = (slice: T[]): void => {
    const open = slice.filter((c) => options.isOpen(c));
    const keys = open.map((c, i) => options.signIn?.(c) ?? `#${i}`);
    const first = new Map<string, T>();
    open.forEach((c, i) => {
      if (!first.has(keys[i]!)) first.set(keys[i]!, c);
    });
    const representatives = [...first.values()];
    let verdicts: boolean[];
    try {
      verdicts = options.stillValid(representatives);
    } catch {
      // One at a time, so that one that cannot be checked keeps only itself.
      verdicts = representatives.map((c) => {
        try {
          return options.stillValid([c])[0] !== false;
        } catch (err) {
          options.warn({ err: (err as Error).message }, 'could not check a sign-in again; kept for now');
          return true;
        }
      });
    }
    const valid = new Map([...first.keys()].map((key, i) => [key, verdicts[i] !== false]));
    open.forEach((c, i) => {
      if (!valid.get(keys[i]!)) options.end(c);
    });
  };
  return everyInSlices({ everyMs, slices, items: options.connections, visitSlice });
}
