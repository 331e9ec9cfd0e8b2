// Records one participant's camera and microphone into one WebM file, without transcoding.
// The participant's tap (media-tap.ts) gives frames with capture times; this module lays them
// on the segment's own timeline (milliseconds since its zero, which is the phase start when the
// segment starts a phase), writes them as a WebM stream, and an ffmpeg process copies that
// stream into the file. One instance is one segment; when its ffmpeg dies, the session recorder
// carries on with its hot standby and starts a new one (playback joins segments).
//
// From the first moment: the tap keeps the last few seconds, so a segment asked to begin at
// the phase start takes the microphone from that instant and the camera from the last
// keyframe just before it (or the keyframe it asks for at once), whenever ffmpeg gets going.
//
// Clean timestamps: each frame's time is its capture time from RTP timestamps and sender
// reports (see SegmentClock), never its arrival; a track's times only increase, so the muxer
// never sees one step back.
//
// Crash tolerance: ffmpeg's WebM muxer writes a cluster when it closes; clusters are closed
// every CLUSTER_MS and written at once (-flush_packets), so a killed ffmpeg loses at most about
// a quarter second, and what it wrote is a WebM without an index that a copy-remux completes.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../server/log.ts';
import { spawnTied } from './tied-child.ts';
import type { ParticipantTap, TapFrame, TrackKind } from './media-tap.ts';
import { webmCluster, webmHeader, type WebmBlock, type WebmTracks } from './rtp/webm-writer.ts';

/** Longest stretch a killed ffmpeg can lose (its open, unwritten cluster). */
const CLUSTER_MS = 250;
/** A camera keyframe at most this long before the start still begins the recording. */
const PRE_ROLL_MS = 300;
/** One track's frame waits at most this long for the other track's, to keep them interleaved. */
const INTERLEAVE_WAIT_MS = 300;
/** The stream's header waits at most this long for the camera's picture size. */
const HEADER_WAIT_MS = 1000;
/** At a stop, frames captured before the cut are waited for at most this long. A loaded
 *  sender's frames arrive a second or more after capture, and what was said just before a phase
 *  ended is evidence too. The wait ends as soon as every track has caught up; it is bounded because
 *  the next recorded phase starts only after it. */
const CUT_WAIT_MS = 1500;
/** A segment waits at most this long for sender reports of every track (the microphone's come
 *  every few seconds) before it times frames by their arrival; its frames are held meanwhile. */
const REPORT_WAIT_MS = 8000;
/** A frame's capture time by sender reports is believed only this close to its arrival. */
const MAX_REPORT_SKEW_MS = 10_000;
/**
 * A frame is placed at most this long before it arrived. A starved sender's clock can run slower
 * than the server's, and a report can go stale: over a long segment its timeline then slides
 * further and further before the arrivals (seconds within minutes, seen under heavy load), and
 * the frames of the segment's last seconds land before the cut and are never waited for, or the
 * cut comes before they do. Held within this bound (the cut's wait), a stop always catches up.
 */
const MAX_PLACEMENT_LAG_MS = CUT_WAIT_MS;
/** A segment that has written no media this long after its timeline was decided says so. */
const STALL_WARN_MS = 10_000;
/** A picture size to declare when the camera has never sent a keyframe (frames carry their own). */
const FALLBACK_SIZE = { width: 640, height: 480 };

/** The ffmpeg arguments of one segment: a WebM stream on stdin, copied into the file. */
export function ffmpegArgs(file: string): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-f', 'matroska', '-i', 'pipe:0',
    '-map', '0', '-c', 'copy',
    // Our timeline as it is: zero is the segment's zero (the phase start), not its first packet.
    '-copyts',
    '-max_interleave_delta', String(CLUSTER_MS * 1000),
    '-cluster_time_limit', String(CLUSTER_MS),
    '-flush_packets', '1',
    '-f', 'webm',
    '-y', file,
  ];
}

export type Timing = 'sender-report' | 'arrival';

/**
 * Places a participant's frames on the server clock. With sender reports for every track, both
 * share one offset (server − sender clock), so the sender's own lip sync is kept exactly; a
 * track's frames are timed by its latest report, which follows any drift between the sender's
 * clocks. Without, each track's RTP clock gets its own offset from its quickest arrivals (a
 * fallback: the camera's encoding delay then shows as sound slightly early). Decided once per
 * segment, so a segment's timeline never jumps.
 */
export class SegmentClock {
  readonly timing: Timing;
  private readonly tap: ParticipantTap;
  private readonly senderOffset: number | null;
  private readonly rtpOffsets = new Map<TrackKind, number>();
  /** Frames placed by their RTP time alone (no report fitted them, or it was not believed). */
  readonly timedByRtp = new Map<TrackKind, number>();
  /** Per track: how far its frames are moved now to stay close to their arrival (serverMs). */
  private readonly shifts = new Map<TrackKind, number>();
  /** The largest such move so far (logs). */
  readonly maxShift = new Map<TrackKind, number>();

  /** Whether sender reports time every track yet. */
  static reported(tap: ParticipantTap): boolean {
    return [...tap.tracks.values()].every((t) => t.hasReport);
  }

  /** `frames`: what the segment holds so far, for the offsets (the least delayed show them best). */
  constructor(tap: ParticipantTap, frames: readonly TapFrame[]) {
    this.tap = tap;
    let senderOffset = Number.POSITIVE_INFINITY;
    const anchor = frames.some((f) => f.kind === 'audio') ? 'audio' : 'video';
    for (const f of frames) {
      const rtpOffset = f.arrivalMs - f.rtpMs;
      if (rtpOffset < (this.rtpOffsets.get(f.kind) ?? Number.POSITIVE_INFINITY)) this.rtpOffsets.set(f.kind, rtpOffset);
      const senderMs = f.kind === anchor ? tap.tracks.get(f.kind)?.senderMsOf(f.rtpMs) : null;
      if (senderMs !== null && senderMs !== undefined) senderOffset = Math.min(senderOffset, f.arrivalMs - senderMs);
    }
    this.senderOffset = SegmentClock.reported(tap) && Number.isFinite(senderOffset) ? senderOffset : null;
    this.timing = this.senderOffset === null ? 'arrival' : 'sender-report';
  }

  /**
   * The frame's place on the server clock: by report or RTP time, moved by as much as keeps it
   * within MAX_PLACEMENT_LAG_MS before its arrival and no later than it. The move is kept for the
   * track's next frames (so they keep their spacing) and given back once it would place them after
   * their arrival (a fresh report that times them right again).
   */
  serverMs(frame: TapFrame): number {
    const placed = this.placed(frame);
    let shift = this.shifts.get(frame.kind) ?? 0;
    let at = placed + shift;
    const earliest = frame.arrivalMs - MAX_PLACEMENT_LAG_MS;
    if (at < earliest) {
      shift += earliest - at;
      at = earliest;
    } else if (shift > 0 && at > frame.arrivalMs) {
      shift = Math.max(0, shift - (at - frame.arrivalMs));
      at = placed + shift;
    }
    this.shifts.set(frame.kind, shift);
    this.maxShift.set(frame.kind, Math.max(this.maxShift.get(frame.kind) ?? 0, shift));
    return at;
  }

  /**
   * Places frames held before the clock existed, each once and in the order they arrived (as
   * frames are placed when they come): placing moves the track's shift, so a frame placed again,
   * or in a sort's order, could land elsewhere.
   */
  placeHeld(frames: readonly TapFrame[]): Map<TapFrame, number> {
    const placed = new Map<TapFrame, number>();
    for (const frame of [...frames].sort((a, b) => a.arrivalMs - b.arrivalMs)) placed.set(frame, this.serverMs(frame));
    return placed;
  }

  private placed(frame: TapFrame): number {
    const senderMs = this.senderOffset === null ? null : (this.tap.tracks.get(frame.kind)?.senderMsOf(frame.rtpMs) ?? null);
    // A report that places a frame far from when it arrived is not believed (a forged or broken
    // sender report must not move a recording by minutes): that frame is timed by arrival.
    if (senderMs !== null && Math.abs(senderMs + this.senderOffset! - frame.arrivalMs) <= MAX_REPORT_SKEW_MS) return senderMs + this.senderOffset!;
    this.timedByRtp.set(frame.kind, (this.timedByRtp.get(frame.kind) ?? 0) + 1);
    let offset = this.rtpOffsets.get(frame.kind);
    if (offset === undefined) {
      offset = frame.arrivalMs - frame.rtpMs;
      this.rtpOffsets.set(frame.kind, offset);
    }
    return frame.rtpMs + offset;
  }

  /** The sender's wall-clock time of a server-clock instant (null without reports). */
  senderTime(serverMs: number): number | null {
    return this.senderOffset === null ? null : serverMs - this.senderOffset;
  }
}

interface Queued {
  block: WebmBlock;
  queuedAt: number;
}

interface SegmentEvents {
  /** ffmpeg ended without being asked to (killed, crashed). */
  failed: [reason: string];
  /** It no longer takes frames (stopped, or failed). */
  closed: [];
  /** The camera has given no keyframe for a while: the segment records sound only. */
  pictureMissing: [];
  /** The picture began after pictureMissing. */
  pictureStarted: [];
}

export class SegmentRecorder extends EventEmitter<SegmentEvents> {
  readonly file: string;
  readonly startedAt = Date.now();
  /** Server time of the file's zero: where it lies on the scenario clock (set once `ready`). */
  mediaSince = 0;
  /** The sender's wall-clock time of the file's zero, from its sender reports (null: none). */
  senderSince: number | null = null;
  timing: Timing = 'arrival';
  /** Settles once the timeline is decided (mediaSince and timing are known). */
  readonly ready: Promise<void>;
  private readonly tap: ParticipantTap;
  private clock: SegmentClock | null = null;
  private readonly fromMs: number;
  private readonly history: TapFrame[];
  private readonly undecided: TapFrame[] = [];
  private decidedAt = 0;
  private resolveReady!: () => void;
  private readonly ffmpeg: ChildProcess;
  private readonly log: Logger;
  private readonly kinds: TrackKind[];
  private tracks: WebmTracks | null = null;
  private readonly pending: WebmBlock[] = [];
  private readonly queues = new Map<TrackKind, Queued[]>();
  private readonly lastTime = new Map<TrackKind, number>();
  private readonly lastServerMs = new Map<TrackKind, number>();
  /** Per track: frames taken, and how far the latest one's place lies before its arrival. */
  private readonly taken = new Map<TrackKind, { frames: number; lagMs: number }>();
  /** What became of the frames: the log's answer when a segment stays empty. */
  private readonly counts = { received: 0, beforeStart: 0, afterCut: 0, beforeKeyframe: 0, otherTrack: 0, written: 0, bytes: 0 };
  private stallReported = false;
  private videoStallReported = false;
  private cluster: WebmBlock[] = [];
  private clusterOpenedAt = 0;
  private videoStarted = false;
  private cutAt: number | null = null;
  private stopping = false;
  private detached = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onFrame: (frame: TapFrame) => void;
  private readonly onTapClosed = (): void => void this.stop();
  /** ffmpeg's last complaints, for the log when a segment ends badly. */
  readonly stderr: () => string;
  private readonly exited: Promise<void>;

  private constructor(tap: ParticipantTap, file: string, fromMs: number, log: Logger) {
    super();
    this.tap = tap;
    this.file = file;
    this.log = log;
    this.fromMs = fromMs;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.kinds = (['video', 'audio'] as const).filter((k) => tap.tracks.has(k));
    for (const k of this.kinds) this.queues.set(k, []);
    // What the tap kept: the camera from its latest keyframe, the last seconds of sound.
    this.history = [...(tap.tracks.get('video')?.recent ?? []), ...(tap.tracks.get('audio')?.recent ?? [])];
    const keyframe = tap.tracks.get('video')?.recent[0];
    if (!keyframe?.keyframe || keyframe.arrivalMs < Date.now() - PRE_ROLL_MS) tap.requestKeyframe();

    this.ffmpeg = spawnTied('ffmpeg', ffmpegArgs(file), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.ffmpeg.stdin?.on('error', () => undefined); // a killed ffmpeg: its exit says so
    let stderr = '';
    this.ffmpeg.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.stderr = () => stderr;
    this.exited = new Promise((resolve) => {
      let ended = false;
      const end = (how: string): void => {
        if (ended) return;
        ended = true;
        if (!this.stopping) {
          const reason = `ffmpeg exited (${how}) ${stderr.trim().split('\n').at(-1) ?? ''}`.trim();
          this.log.error({ file, reason }, 'recorder failed');
          this.decide();
          this.detach();
          this.emit('failed', reason);
        }
        resolve();
      };
      this.ffmpeg.once('exit', (code, signal) => end(String(signal ?? code)));
      // Could not be started at all (no ffmpeg on the machine): 'exit' never comes.
      this.ffmpeg.once('error', (error) => end(error.message));
    });

    this.onFrame = (frame) => {
      this.counts.received++;
      if (this.clock) this.take(frame);
      else this.undecided.push(frame);
    };
    tap.on('frame', this.onFrame);
    tap.once('closed', this.onTapClosed);
    this.timer = setInterval(() => {
      if (!this.clock && (SegmentClock.reported(tap) || Date.now() - this.startedAt >= REPORT_WAIT_MS)) this.decide();
      this.pump(false);
      // A picture starts only at a keyframe, and the one asked for at the start may never come
      // (a request lost, or not answered by a loaded sender): ask again until it does.
      if (this.queues.has('video') && !this.videoStarted && !this.stopping) this.tap.requestKeyframe(false);
      // A quiet moment (both tracks paused) must not leave a cluster unwritten.
      if (this.cluster.length > 0 && Date.now() - this.clusterOpenedAt >= CLUSTER_MS) this.flushCluster();
      this.reportStall();
    }, 50);
    if (SegmentClock.reported(tap)) this.decide();
  }

  /**
   * Fixes the timeline: the clock (sender reports if every track has them by now), and the
   * file's zero: `fromMs`, or the latest camera keyframe if it is at most PRE_ROLL_MS earlier
   * (the picture then starts with the sound), but never before the oldest frame kept (a tap
   * opened just now, a server restarted mid-phase: the file begins there, not at an empty
   * stretch). Then everything held so far is placed on it.
   */
  private decide(): void {
    if (this.clock) return;
    const clock = new SegmentClock(this.tap, [...this.history, ...this.undecided]);
    this.clock = clock;
    this.decidedAt = Date.now();
    const placed = clock.placeHeld(this.history);
    let oldest = Date.now();
    for (const at of placed.values()) oldest = Math.min(oldest, at);
    const from = Math.max(this.fromMs, oldest);
    const keyframe = this.history.find((f) => f.kind === 'video');
    const keyframeMs = keyframe?.keyframe ? placed.get(keyframe)! : null;
    const usable = keyframeMs !== null && keyframeMs >= from - PRE_ROLL_MS;
    this.mediaSince = Math.round(usable ? Math.min(from, keyframeMs) : from);
    this.senderSince = clock.senderTime(this.mediaSince);
    this.timing = clock.timing;
    const past = this.history.filter((f) => usable || f.kind === 'audio').sort((a, b) => placed.get(a)! - placed.get(b)!);
    for (const frame of past) this.take(frame, placed.get(frame)!);
    for (const frame of this.undecided.splice(0)) this.take(frame);
    this.resolveReady();
  }

  /** Starts recording the participant's tapped tracks from `fromMs` (server clock; may be past). */
  static start(tap: ParticipantTap, file: string, fromMs: number, log: Logger): SegmentRecorder {
    if (tap.tracks.size === 0) throw new Error('nothing to record: the participant sends no media');
    return new SegmentRecorder(tap, file, fromMs, log);
  }

  get pid(): number | undefined {
    return this.ffmpeg.pid;
  }

  /** It has reported that the camera gives no picture, and none has begun since. */
  get pictureMissing(): boolean {
    return this.videoStallReported && !this.videoStarted;
  }

  /** ffmpeg runs and nobody asked it to stop. */
  get running(): boolean {
    return !this.stopping && this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null;
  }

  /**
   * Stops at `cutMs` on the server clock (default: now): frames captured before it are waited
   * for briefly, later ones left out; then ffmpeg finalises the file.
   */
  async stop(cutMs = Date.now()): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    this.cutAt = cutMs;
    this.decide();
    const deadline = Date.now() + CUT_WAIT_MS;
    while (Date.now() < deadline && this.ffmpeg.exitCode === null && !this.caughtUp(cutMs)) await new Promise((r) => setTimeout(r, 20));
    if (!this.caughtUp(cutMs) && this.ffmpeg.exitCode === null) {
      const behindMs = Object.fromEntries(this.kinds.map((k) => [k, Math.round(cutMs - (this.lastServerMs.get(k) ?? Number.NEGATIVE_INFINITY))]));
      this.log.warn({ file: this.file, behindMs }, 'frames captured before the cut had not arrived when the segment stopped');
    }
    this.detach();
    this.pump(true);
    this.flushCluster();
    if (this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null) {
      this.ffmpeg.stdin?.end();
      const killer = setTimeout(() => this.ffmpeg.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(killer);
    }
    // How the segment was timed: if a file comes out shorter or longer than its phase, this says
    // whether its frames stopped coming or were placed away from when they arrived.
    this.log.info(
      {
        file: this.file,
        timing: this.timing,
        cutBehindMs: Object.fromEntries(this.kinds.map((k) => [k, Math.round(cutMs - (this.lastServerMs.get(k) ?? Number.NEGATIVE_INFINITY))])),
        tracks: Object.fromEntries(
          [...this.taken].map(([k, t]) => [k, { ...t, timedByRtp: this.clock?.timedByRtp.get(k) ?? 0, maxShiftMs: Math.round(this.clock?.maxShift.get(k) ?? 0) }]),
        ),
      },
      'segment stopped',
    );
    const complaints = this.stderr().trim();
    if (complaints) this.log.warn({ file: this.file, ffmpeg: complaints.slice(-500) }, 'ffmpeg reported problems');
  }

  private caughtUp(cutMs: number): boolean {
    return this.kinds.every((k) => (this.lastServerMs.get(k) ?? Number.NEGATIVE_INFINITY) >= cutMs || !this.tap.tracks.has(k));
  }

  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    clearInterval(this.timer);
    this.tap.off('frame', this.onFrame);
    this.tap.off('closed', this.onTapClosed);
    this.emit('closed');
  }

  /** A frame from the tap: placed on the timeline and queued (or left out). */
  private take(frame: TapFrame, serverMs = this.clock!.serverMs(frame)): void {
    this.lastServerMs.set(frame.kind, Math.max(this.lastServerMs.get(frame.kind) ?? Number.NEGATIVE_INFINITY, serverMs));
    this.taken.set(frame.kind, { frames: (this.taken.get(frame.kind)?.frames ?? 0) + 1, lagMs: Math.round(frame.arrivalMs - serverMs) });
    if (!this.queues.has(frame.kind)) {
      this.counts.otherTrack++; // a track that appeared after the start: a new segment takes it
      return;
    }
    if (serverMs < this.mediaSince) {
      this.counts.beforeStart++;
      return;
    }
    if (this.cutAt !== null && serverMs >= this.cutAt) {
      this.counts.afterCut++;
      return;
    }
    if (frame.kind === 'video') {
      if (!this.videoStarted && !frame.keyframe) {
        this.counts.beforeKeyframe++;
        return;
      }
      if (!this.videoStarted && frame.width && frame.height && !this.tracks) this.writeHeader({ width: frame.width, height: frame.height });
      if (!this.videoStarted && this.videoStallReported) this.emit('pictureStarted');
      this.videoStarted = true;
    }
    // A track's times only increase: a frame the sender timed no later than the previous one
    // (a clock step) is moved just after it.
    let timeMs = Math.round(serverMs - this.mediaSince);
    const last = this.lastTime.get(frame.kind);
    if (last !== undefined && timeMs <= last) timeMs = last + 1;
    this.lastTime.set(frame.kind, timeMs);
    this.queues.get(frame.kind)!.push({ block: { track: frame.kind, timeMs, keyframe: frame.keyframe, data: frame.data }, queuedAt: Date.now() });
    this.pump(false);
  }

  private writeHeader(video: { width: number; height: number } | null): void {
    const tracks: WebmTracks = {};
    if (this.queues.has('video')) tracks.video = video ?? this.tap.tracks.get('video')?.size ?? FALLBACK_SIZE;
    if (this.queues.has('audio')) tracks.audio = { channels: 2 };
    this.tracks = tracks;
    this.write(webmHeader(tracks));
    for (const block of this.pending.splice(0)) this.append(block);
  }

  /** Moves queued frames to the stream in time order across tracks. */
  private pump(force: boolean): void {
    if (!this.clock) return;
    if (!this.tracks && (force || Date.now() - this.decidedAt > HEADER_WAIT_MS)) this.writeHeader(null);
    const now = Date.now();
    for (;;) {
      let next: Queued[] | null = null;
      let waiting = false;
      for (const queue of this.queues.values()) {
        if (queue.length === 0) {
          waiting = true;
          continue;
        }
        if (!next || queue[0]!.block.timeMs < next[0]!.block.timeMs) next = queue;
      }
      if (!next) return;
      // Hold while the other track may still deliver something earlier.
      if (waiting && !force && now - next[0]!.queuedAt < INTERLEAVE_WAIT_MS) return;
      const { block } = next.shift()!;
      if (this.tracks) this.append(block);
      else this.pending.push(block);
    }
  }

  private append(block: WebmBlock): void {
    const start = this.cluster[0]?.timeMs;
    if (start !== undefined) {
      const startsPicture = block.track === 'video' && block.keyframe;
      if (startsPicture || block.timeMs - start >= CLUSTER_MS || block.timeMs < start) this.flushCluster();
    }
    if (this.cluster.length === 0) this.clusterOpenedAt = Date.now();
    this.cluster.push(block);
  }

  private flushCluster(): void {
    if (this.cluster.length === 0 || !this.tracks) return;
    this.counts.written += this.cluster.length;
    this.write(webmCluster(this.tracks, this.cluster));
    this.cluster = [];
  }

  private write(data: Buffer): void {
    const stdin = this.ffmpeg.stdin;
    if (stdin && !stdin.destroyed && !stdin.writableEnded) {
      stdin.write(data);
      this.counts.bytes += data.length;
    }
  }

  /** Once: a segment whose timeline is decided but that has written no frame for a while. */
  private reportStall(): void {
    if (!this.clock || Date.now() - this.decidedAt < STALL_WARN_MS) return;
    if (!this.videoStallReported && this.queues.has('video') && !this.videoStarted) {
      this.videoStallReported = true;
      const tap = Object.fromEntries([...this.tap.tracks].map(([k, t]) => [k, { ...t.stats, awaitingKeyframe: t.awaitingKeyframe, producerId: t.producerId }]));
      this.log.warn({ file: this.file, ...this.counts, tap }, 'segment has no picture yet: no camera keyframe');
      this.emit('pictureMissing');
    }
    if (this.stallReported || this.counts.written > 0) return;
    this.stallReported = true;
    const queued = Object.fromEntries([...this.queues].map(([k, q]) => [k, q.length]));
    this.log.warn(
      { file: this.file, ...this.counts, queued, cluster: this.cluster.length, header: this.tracks !== null, mediaSince: this.mediaSince, lastServerMs: Object.fromEntries(this.lastServerMs), ffmpeg: this.stderr().slice(-300) },
      'segment has written no media',
    );
  }
}
