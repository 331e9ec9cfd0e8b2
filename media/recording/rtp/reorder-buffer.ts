// Puts one stream's RTP packets back in sequence order. The media server forwards packets as
// they come, so a retransmitted packet (after a loss on the sender's link) arrives late; it is
// held for at most `holdMs`, then the hole is given up and reported as a gap. A sender that
// restarts its sequence numbers (far behind or far ahead of the expected one, as RFC 3550's
// MAX_MISORDER and MAX_DROPOUT judge it) starts the order afresh: what was held is released,
// a gap marks the break.
import { Unwrapper, type RtpPacket } from './rtp-packet.ts';

export interface Arrived {
  packet: RtpPacket;
  /** Server clock (ms) when it arrived. */
  arrivalMs: number;
}

export type Released = { gap: false; arrived: Arrived } | { gap: true };

/** Further behind the expected sequence number than this is a restart, not a late packet. */
const MAX_MISORDER = 100;
/** Further ahead than this is a restart, not a loss. */
const MAX_DROPOUT = 3000;

export class ReorderBuffer {
  private readonly holdMs: number;
  private seq = new Unwrapper(16);
  private readonly held = new Map<number, Arrived>();
  private next: number | null = null;

  constructor(holdMs: number) {
    this.holdMs = holdMs;
  }

  /** Takes a packet; returns what is now released, in order. */
  push(arrived: Arrived): Released[] {
    let seq = this.seq.unwrap(arrived.packet.sequenceNumber);
    if (this.next === null) this.next = seq;
    const out: Released[] = [];
    if (seq < this.next - MAX_MISORDER || seq > this.next + MAX_DROPOUT) {
      // A restart: everything held goes out in order, then the new numbering begins.
      let expected = this.next;
      for (const key of [...this.held.keys()].sort((a, b) => a - b)) {
        if (key !== expected) out.push({ gap: true });
        out.push({ gap: false, arrived: this.held.get(key)! });
        expected = key + 1;
      }
      out.push({ gap: true });
      this.held.clear();
      this.seq = new Unwrapper(16);
      seq = this.seq.unwrap(arrived.packet.sequenceNumber);
      this.next = seq;
    }
    // Already released or given up: a duplicate, or too late to use.
    if (seq < this.next || this.held.has(seq)) return out;
    this.held.set(seq, arrived);
    return [...out, ...this.release(arrived.arrivalMs)];
  }

  /** Releases what waited long enough (call on a timer, and after every push). */
  release(nowMs: number): Released[] {
    const out: Released[] = [];
    while (this.next !== null && this.held.size > 0) {
      const ready = this.held.get(this.next);
      if (ready) {
        this.held.delete(this.next);
        this.next++;
        out.push({ gap: false, arrived: ready });
        continue;
      }
      // A hole: wait for it while the oldest packet after it is young enough.
      let oldest = Number.POSITIVE_INFINITY;
      let lowest = Number.POSITIVE_INFINITY;
      for (const [seq, a] of this.held) {
        oldest = Math.min(oldest, a.arrivalMs);
        lowest = Math.min(lowest, seq);
      }
      if (nowMs - oldest < this.holdMs) break;
      this.next = lowest;
      out.push({ gap: true });
    }
    return out;
  }
}
