// One RTP stream's clock: its timestamps as milliseconds that keep counting (no 32-bit wrap),
// and, from the sender's RTCP sender reports, the sender's wall-clock time of any of them.
//
// A sender may restart its timestamps (a new encoder after a camera switch on some browsers, a
// reset after an ICE restart): a jump of the RTP clock, backwards or further ahead than the
// arrival clock moved. (A stall, where packets arrive long after the RTP clock says, is not one.)
// The stream's milliseconds then carry on from where they were by the arrival clock, and the
// report in hand is dropped (it names the old timestamps) until the next one comes.
import { Unwrapper } from './rtp-packet.ts';

/** A jump of the RTP clock against the arrival clock beyond this is a restart, not jitter. */
const JUMP_MS = 2000;
/** A report serves RTP times at most this far from its own. */
const REPORT_REACH_MS = 30_000;
/** Seconds between 1900 (NTP) and 1970 (Unix). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export class RtpClock {
  readonly clockRate: number;
  private unwrapper = new Unwrapper(32);
  /** Added to every time since the last restart, to keep the stream's milliseconds continuous. */
  private correction = 0;
  private last: { ms: number; arrivalMs: number } | null = null;
  private report: { senderMs: number; ms: number } | null = null;
  /** Restarts seen (tests, logs). */
  restarts = 0;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  get hasReport(): boolean {
    return this.report !== null;
  }

  /** The stream's time (ms) of a packet's RTP timestamp, arriving at `arrivalMs`. */
  at(timestamp: number, arrivalMs: number): number {
    let ms = this.toMs(this.unwrapper.unwrap(timestamp));
    if (this.last) {
      const apart = ms - this.last.ms;
      const arrivedApart = arrivalMs - this.last.arrivalMs;
      // Backwards, or further ahead than the time that passed allows. (Far less ahead than the
      // time that passed is a stall of the sender or its link, not a restart.)
      if (apart < -JUMP_MS || apart > Math.max(0, arrivedApart) + JUMP_MS) {
        this.restarts++;
        this.unwrapper = new Unwrapper(32);
        const raw = this.toMs(this.unwrapper.unwrap(timestamp)) - this.correction;
        this.correction = this.last.ms + Math.max(0, arrivedApart) - raw;
        this.report = null;
        ms = raw + this.correction;
      }
    }
    if (!this.last || ms > this.last.ms) this.last = { ms, arrivalMs };
    return ms;
  }

  /** A sender report: NTP time (seconds and fraction since 1900) and the RTP time it names. */
  takeReport(ntpSec: number, ntpFrac: number, timestamp: number): void {
    const senderMs = (ntpSec - NTP_UNIX_OFFSET_S) * 1000 + (ntpFrac / 2 ** 32) * 1000;
    this.report = { senderMs, ms: this.toMs(this.unwrapper.peek(timestamp)) };
  }

  /** The sender's wall-clock time of a stream time (null: no report fits it). */
  senderMsOf(ms: number): number | null {
    if (!this.report || Math.abs(ms - this.report.ms) >= REPORT_REACH_MS) return null;
    return this.report.senderMs + (ms - this.report.ms);
  }

  private toMs(extended: number): number {
    return (extended * 1000) / this.clockRate + this.correction;
  }
}
