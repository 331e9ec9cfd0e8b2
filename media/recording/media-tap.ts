// A participant's camera and microphone as the recorder sees them: frames, in order, each with
// its capture time. The media server hands every RTP packet of a producer to this process (a
// DirectTransport consumer); packets are put back in order, assembled into frames and kept for
// a few seconds, so a recording can begin at a moment that has already passed (the phase start)
// instead of when its recorder got going.
//
// Capture times come from the RTP timestamps, never from arrival times: RTP timestamps are the
// sender's capture clock, so each stream is evenly timed however the network bunches packets.
// The sender's RTCP sender reports map each stream's RTP clock to one wall clock (the sender's
// NTP time), which lines the camera up with the microphone (lip sync) and follows any drift
// between them. Before the first report, or when a report no longer fits the stream (its RTP
// timestamps jumped), capture times fall back to the arrival clock.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../../server/log.ts';
import { ReorderBuffer, type Released } from './rtp/reorder-buffer.ts';
import { RtpClock } from './rtp/rtp-clock.ts';
import { parseRtp } from './rtp/rtp-packet.ts';
import { Vp8Assembler } from './rtp/vp8-frames.ts';

export type TrackKind = 'audio' | 'video';

export interface TapFrame {
  kind: TrackKind;
  keyframe: boolean;
  data: Buffer;
  /** A keyframe's picture size. */
  width?: number;
  height?: number;
  /** Server clock (ms) when it was complete (its last packet arrived). */
  arrivalMs: number;
  /** Capture time on the stream's own RTP clock (ms, extended: it never wraps); the tap's
   *  senderMsOf turns it into the sender's wall clock. */
  rtpMs: number;
}

/** A retransmitted packet is waited for this long before its hole is given up. */
const REORDER_HOLD_MS = 150;
/** How much of the past is kept for a recording that starts late. */
const KEEP_MS = 3000;
/** Keyframes are asked for at most this often when the stream needs one. */
const KEYFRAME_REQUEST_GAP_MS = 1000;

class TrackTap {
  readonly kind: TrackKind;
  readonly consumer: types.Consumer;
  readonly producerId: string;
  private readonly reorder = new ReorderBuffer(REORDER_HOLD_MS);
  readonly clock: RtpClock;
  private readonly vp8 = new Vp8Assembler();
  private lastKeyframeRequest = 0;
  /** Recent frames, oldest first (video: from the latest keyframe). */
  readonly recent: TapFrame[] = [];
  /** The latest keyframe's picture size. */
  size: { width: number; height: number } | null = null;
  /** What came in and what was asked for (the log's answer when a recording stays empty). */
  readonly stats = { packets: 0, frames: 0, keyframes: 0, keyframeRequests: 0 };

  constructor(kind: TrackKind, consumer: types.Consumer, producerId: string) {
    this.kind = kind;
    this.consumer = consumer;
    this.producerId = producerId;
    this.clock = new RtpClock(consumer.rtpParameters.codecs[0]?.clockRate ?? (kind === 'video' ? 90000 : 48000));
  }

  /** The camera's frames are dropped until a keyframe comes. */
  get awaitingKeyframe(): boolean {
    return this.kind === 'video' && this.vp8.needsKeyframe;
  }

  get hasReport(): boolean {
    return this.clock.hasReport;
  }

  /** See RtpClock.senderMsOf. */
  senderMsOf(rtpMs: number): number | null {
    return this.clock.senderMsOf(rtpMs);
  }

  /** Takes one RTP packet; returns the frames it completes (and any released before it). */
  receive(raw: Buffer, nowMs: number): TapFrame[] {
    this.stats.packets++;
    const packet = parseRtp(raw);
    if (!packet || packet.payload.length === 0) return [];
    return this.frames(this.reorder.push({ packet, arrivalMs: nowMs }));
  }

  /** Frames whose missing predecessors were waited for long enough. */
  flush(nowMs: number): TapFrame[] {
    return this.frames(this.reorder.release(nowMs));
  }

  /** Asks the sender for a keyframe (`force`: even if one was asked for a moment ago). */
  requestKeyframe(nowMs: number, force = false): void {
    if (this.kind !== 'video' || (!force && nowMs - this.lastKeyframeRequest < KEYFRAME_REQUEST_GAP_MS)) return;
    this.lastKeyframeRequest = nowMs;
    this.stats.keyframeRequests++;
    void this.consumer.requestKeyFrame().catch(() => undefined);
  }

  private frames(released: Released[]): TapFrame[] {
    const out: TapFrame[] = [];
    for (const r of released) {
      if (r.gap) {
        if (this.kind === 'video') {
          this.vp8.lost();
          this.requestKeyframe(Date.now());
        }
        continue;
      }
      const { packet, arrivalMs } = r.arrived;
      if (this.kind === 'audio') {
        out.push(this.timed({ kind: 'audio', keyframe: true, data: Buffer.from(packet.payload) }, packet.timestamp, arrivalMs));
        continue;
      }
      const frame = this.vp8.push(packet.payload, packet.timestamp, packet.marker);
      if (this.vp8.needsKeyframe) this.requestKeyframe(arrivalMs);
      if (!frame) continue;
      const timed = this.timed({ kind: 'video', keyframe: frame.keyframe, data: frame.data }, packet.timestamp, arrivalMs);
      if (frame.width && frame.height) {
        timed.width = frame.width;
        timed.height = frame.height;
        this.size = { width: frame.width, height: frame.height };
      }
      out.push(timed);
    }
    for (const f of out) {
      this.stats.frames++;
      if (f.kind === 'video' && f.keyframe) this.stats.keyframes++;
      this.keep(f);
    }
    return out;
  }

  private timed(frame: Pick<TapFrame, 'kind' | 'keyframe' | 'data'>, timestamp: number, arrivalMs: number): TapFrame {
    return { ...frame, arrivalMs, rtpMs: this.clock.at(timestamp, arrivalMs) };
  }

  private keep(frame: TapFrame): void {
    if (this.kind === 'video' && frame.keyframe) this.recent.length = 0;
    this.recent.push(frame);
    const cutoff = frame.arrivalMs - KEEP_MS;
    if (this.kind === 'audio') {
      while (this.recent.length > 0 && this.recent[0]!.arrivalMs < cutoff) this.recent.shift();
    } else if (this.recent[0]!.arrivalMs < cutoff) {
      // The keyframe this history starts from is too old to begin a recording with.
      this.recent.length = 0;
    }
  }
}

interface TapEvents {
  frame: [frame: TapFrame];
  closed: [];
}

/**
 * One participant's camera and microphone, tapped. Frames are emitted as they complete; the
 * last few seconds are kept (each track's `recent`).
 */
export class ParticipantTap extends EventEmitter<TapEvents> {
  readonly participantId: string;
  readonly tracks = new Map<TrackKind, TrackTap>();
  private readonly transport: types.DirectTransport;
  private readonly log: Logger;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private adding: Promise<void> = Promise.resolve();

  private constructor(participantId: string, transport: types.DirectTransport, log: Logger) {
    super();
    this.participantId = participantId;
    this.transport = transport;
    this.log = log;
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const t of this.tracks.values()) for (const f of t.flush(now)) this.deliver(f);
    }, 50);
    this.timer.unref();
  }

  static async open(router: types.Router, participantId: string, log: Logger): Promise<ParticipantTap> {
    const transport = await router.createDirectTransport({ maxMessageSize: 262_144, appData: { recorderOf: participantId } });
    return new ParticipantTap(participantId, transport, log.child({ tap: participantId }));
  }

  /** Taps a producer (replacing the tap of the same kind: a new camera, a reconnect). */
  add(producer: types.Producer, router: types.Router): Promise<void> {
    // One at a time: two taps of one kind at once would deliver its frames twice.
    const next = this.adding.then(() => this.addNow(producer, router));
    this.adding = next.catch(() => undefined);
    return next;
  }

  private async addNow(producer: types.Producer, router: types.Router): Promise<void> {
    if (this.closed || producer.closed || this.tracks.get(producer.kind)?.producerId === producer.id) return;
    const kind = producer.kind;
    this.tracks.get(kind)?.consumer.close();
    this.tracks.delete(kind);
    const consumer = await this.transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    if (this.closed) {
      consumer.close();
      return;
    }
    const track = new TrackTap(kind, consumer, producer.id);
    this.tracks.set(kind, track);
    consumer.on('rtp', (raw: Buffer) => {
      for (const f of track.receive(raw, Date.now())) this.deliver(f);
    });
    consumer.observer.once('close', () => {
      if (this.tracks.get(kind) === track) this.tracks.delete(kind);
    });
    // After a pause the decoder needs a fresh picture.
    consumer.on('producerresume', () => track.requestKeyframe(Date.now(), true));
    producer.on('trace', (trace) => {
      if (trace.type !== 'sr' || producer.closed) return;
      const info = trace.info as { ntpSec?: number; ntpFrac?: number; rtpTs?: number } | undefined;
      if (info?.ntpSec === undefined || info.ntpFrac === undefined || info.rtpTs === undefined) return;
      track.clock.takeReport(info.ntpSec, info.ntpFrac, info.rtpTs);
    });
    await producer.enableTraceEvent(['sr']).catch((error: Error) => this.log.warn({ err: error.message }, 'sender reports not traced'));
    if (kind === 'video') track.requestKeyframe(Date.now());
  }

  /** Whether it taps exactly these producers. */
  taps(producerIds: readonly string[]): boolean {
    const tapped = [...this.tracks.values()].map((t) => t.producerId);
    return tapped.length === producerIds.length && producerIds.every((id) => tapped.includes(id));
  }

  /**
   * Asks the camera for a keyframe: now (`force`: a recording begins), or at most once a second
   * (a recording still waiting for its first picture asks again: a request can go unanswered).
   */
  requestKeyframe(force = true): void {
    this.tracks.get('video')?.requestKeyframe(Date.now(), force);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.transport.close();
    this.tracks.clear();
    this.emit('closed');
  }

  private deliver(frame: TapFrame): void {
    this.emit('frame', frame);
  }
}
