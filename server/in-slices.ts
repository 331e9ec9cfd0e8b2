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
  /** Visits one item; must not throw (a throw would end the slice early). */
  visit: (item: T) => void;
  /** Called as each tick begins, before its visits. */
  startSlice?: () => void;
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
    options.startSlice?.();
    const end = Math.min(round.length, next + perSlice);
    for (; next < end; next++) options.visit(round[next]!);
  }, options.everyMs / options.slices);
  timer.unref();
  return () => clearInterval(timer);
}
