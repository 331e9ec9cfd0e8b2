// Work that visits every live connection on an interval (a sign-in re-check, a heartbeat ping),
// spread over slices of that interval. Done for all connections in one tick, it held every
// message up: 1,200 sign-in checks took tens of milliseconds, 1,200 pings about twenty.
export interface SlicedRoundOptions<T> {
  /** One round visits every item once in this long. */
  everyMs: number;
  /** A round is spread over this many ticks. */
  slices: number;
  /** The items to visit, taken when a round begins. */
  items: () => Iterable<T>;
  /** Visits one slice's items; must not throw. */
  visitSlice: (items: T[]) => void;
}

/** Starts the rounds; the returned function stops them. */
export function everyInSlices<T>(options: SlicedRoundOptions<T>): () => void {
  let round: T[] = [];
  let next = 0;
  let perSlice = 0;
  const timer = setInterval(() => {
    if (next >= round.length) {
      round = [...options.items()];
      next = 0;
      perSlice = Math.ceil(round.length / options.slices);
    }
    const end = Math.min(round.length, next + perSlice);
    const slice = round.slice(next, end);
    next = end;
    if (slice.length > 0) options.visitSlice(slice);
  }, options.everyMs / options.slices);
  timer.unref();
  return () => clearInterval(timer);
}
