// A budget of so many events per window of time, for what a client can cause at will (log lines,
// audit rows of failed sign-ins): within it an event is written in full, beyond it only counted.
// The window rolls over on the first event after it ended; the caller then writes its count.
export class WindowBudget {
  readonly windowMs: number;
  private readonly max: number;
  private readonly now: () => number;
  private windowStart: number;
  private used = 0;

  constructor(max: number, windowMs: number, now: () => number = Date.now) {
    this.max = max;
    this.windowMs = windowMs;
    this.now = now;
    this.windowStart = now();
  }

  /** Whether one more event fits; `onWindowEnd` runs first if the window has ended. */
  take(onWindowEnd: () => void): boolean {
    if (this.now() - this.windowStart >= this.windowMs) {
      onWindowEnd();
      this.restart();
    }
    if (this.used >= this.max) return false;
    this.used++;
    return true;
  }

  /** Starts a new window now. */
  restart(): void {
    this.windowStart = this.now();
    this.used = 0;
  }

  /** How long until the current window ends. */
  msLeft(): number {
    return Math.max(0, this.windowStart + this.windowMs - this.now());
  }
}
