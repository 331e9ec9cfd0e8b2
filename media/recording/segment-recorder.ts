// Records one participant's camera and microphone into one WebM file, without transcoding:
// mediasoup sends RTP over two PlainTransports on loopback to an ffmpeg process that copies
// VP8 and Opus into WebM. One instance is one segment; when ffmpeg dies, the session
// recorder starts a new segment (playback joins the segments).
//
// Crash tolerance: the WebM muxer keeps the open cluster in memory and writes it when the
// cluster closes, so a killed ffmpeg loses the open cluster. Clusters are closed every
// CLUSTER_MS and written out at once (-flush_packets), and probing ends at the first keyframe
// (packets held while probing are lost too): a killed ffmpeg loses at most about the last quarter second
// it received, and what it wrote is a WebM without an index that a copy-remux completes.
//
// Timestamps: ffmpeg's RTP input re-times a stream when the first RTCP sender report for it
// arrives (about half a second in), which can step its timestamps back; the file would then
// hold repeated timestamps that players and `ffmpeg -xerror` reject. So sender reports are
// sent to a socket of ours that discards them (rtcpSink), and lip sync comes from starting
// both streams together instead (see start).
//
// Fast replacement: starting ffmpeg (about 190 shared libraries) takes 0.1 s on an idle
// machine and over a second on a loaded one. So a StandbyFfmpeg is started ahead of need: it
// listens on its ports and waits, idle, with paused consumers already connected to it, until
// a segment hands it media. A replacement then costs a resume and a keyframe.
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { types } from 'mediasoup';
import type { Logger } from '../../server/log.ts';
import { spawnTied } from './tied-child.ts';

/** Keyframe requests after start: the file must begin on a keyframe, and a lost one is re-asked. */
const KEYFRAME_REQUESTS_MS = [0, 300, 1000, 2000, 4000];
/** Stall detection: no new video bytes in this many checks this far apart. */
const STALL_CHECK_MS = 1000;
const STALL_CHECKS = 2;
/** The longest the microphone waits for the camera's first keyframe. */
const KEYFRAME_WAIT_MS = 2500;
/** The longest wait for ffmpeg to bind its RTP ports before media is resumed regardless. */
const FFMPEG_BIND_TIMEOUT_MS = 3000;
/** Longest stretch of media a killed ffmpeg can lose (the open, unwritten cluster). */
const CLUSTER_MS = 250;
/** Probing: the SDP names the codecs; the first keyframe gives the picture size. */
const ANALYZE_US = 3_000_000;

/** The ffmpeg arguments of one segment (exported for the benchmark and tests). */
export function ffmpegArgs(sdpFile: string, kinds: ReadonlyArray<'audio' | 'video'>, file: string): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-protocol_whitelist', 'file,udp,rtp',
    '-fflags', '+genpts',
    '-analyzeduration', String(ANALYZE_US),
    '-i', sdpFile,
    ...kinds.flatMap((kind) => ['-map', `0:${kind === 'video' ? 'v' : 'a'}:0`]),
    '-c', 'copy',
    // Do not hold one stream's packets for long waiting for the other (a muted microphone).
    '-max_interleave_delta', String(CLUSTER_MS * 1000),
    '-cluster_time_limit', String(CLUSTER_MS),
    '-flush_packets', '1',
    '-f', 'webm',
    '-y', file,
  ];
}

/** Whether a UDP port is bound on this machine (ffmpeg has opened its RTP input). */
function udpPortBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      const lines = fs.readFileSync(table, 'utf8').split('\n');
      if (lines.some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) return true;
    } catch {
      // no IPv6 table
    }
  }
  return false;
}

/** Two free consecutive UDP ports (RTP, RTCP = RTP + 1) on loopback, as ffmpeg expects. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 2 * Math.floor(Math.random() * 4999);
    const bound = await Promise.all([base, base + 1].map(tryBind));
    await Promise.all(bound.map((socket) => (socket ? new Promise<void>((resolve) => socket.close(() => resolve())) : undefined)));
    if (bound.every(Boolean)) return base;
  }
  throw new Error('no free UDP port pair for the recorder');
}

function tryBind(port: number): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(null);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

/**
 * One loopback UDP socket that takes (and drops) the RTCP mediasoup sends to recorders, open
 * while any segment runs. A port of our own: never one a later ffmpeg could bind.
 */
const rtcpSink = {
  socket: null as dgram.Socket | null,
  port: Promise.resolve(0),
  users: 0,
  acquire(): Promise<number> {
    if (this.users++ === 0) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', () => undefined);
      socket.on('error', () => undefined);
      this.socket = socket;
      this.port = new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
    }
    return this.port;
  },
  release(): void {
    if (--this.users > 0) return;
    this.users = 0;
    const socket = this.socket;
    this.socket = null;
    void this.port.then(() => socket?.close());
  },
};

/** Resolves when the (video, keyframe-traced) consumer has sent its first keyframe (or after a while, or if ffmpeg died). */
function firstKeyFrame(consumer: types.Consumer, ffmpeg: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      consumer.off('trace', onTrace);
      ffmpeg.off('exit', done);
      resolve();
    };
    const onTrace = (trace: types.ConsumerTraceEventData): void => {
      if (trace.type === 'keyframe') done();
    };
    const timer = setTimeout(done, KEYFRAME_WAIT_MS);
    consumer.on('trace', onTrace);
    ffmpeg.once('exit', done);
  });
}

interface Track {
  transport: types.PlainTransport;
  consumer: types.Consumer;
  port: number;
}

type Kind = 'audio' | 'video';




/**
 * Everything a segment needs, made ready ahead of need: an ffmpeg that already runs and listens
 * on its RTP ports (it writes `file` once media arrives: it opens its output only after probing
 * its input, so an unused standby leaves no file), and a paused consumer of each producer on a
 * PlainTransport connected to those ports. Promoting it is resuming the consumers. Used by
 * exactly one segment, or discarded.
 */
export class StandbyFfmpeg {
  readonly file: string;
  readonly process: ChildProcess;
  readonly tracks: Track[];
  /** Settles true once ffmpeg listens on every port (false: it died, or never did in time). */
  readonly listening: Promise<boolean>;
  private claimed = false;
  private rtcpReleased = false;

  private constructor(file: string, tracks: Track[], process: ChildProcess) {
    this.file = file;
    this.tracks = tracks;
    this.process = process;
    process.once('error', () => undefined);
    this.listening = (async () => {
      const deadline = Date.now() + FFMPEG_BIND_TIMEOUT_MS;
      while (process.exitCode === null && process.signalCode === null && Date.now() < deadline) {
        if (tracks.every((t) => udpPortBound(t.port))) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return tracks.every((t) => udpPortBound(t.port)) && process.exitCode === null;
    })();
  }

  static async spawn(router: types.Router, producers: { audio: types.Producer | undefined; video: types.Producer }, file: string): Promise<StandbyFfmpeg> {
    const tracks: Track[] = [];
    const rtcpPort = await rtcpSink.acquire();
    try {
      for (const producer of [producers.video, producers.audio]) {
        if (!producer) continue;
        const port = await freePortPair();
        const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: false });
        tracks.push({ transport, consumer: undefined as unknown as types.Consumer, port });
        // Paused until promoted; resuming then asks the sender for a keyframe.
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
        tracks.at(-1)!.consumer = consumer;
        await transport.connect({ ip: '127.0.0.1', port, rtcpPort });
        if (consumer.kind === 'video') await consumer.enableTraceEvent(['keyframe']);
      }
    } catch (error) {
      for (const t of tracks) t.transport.close();
      rtcpSink.release();
      throw error;
    }
    const sdpFile = `${file}.sdp`;
    fs.writeFileSync(sdpFile, sdpText(tracks));
    const ffmpeg = spawnTied('ffmpeg', ffmpegArgs(sdpFile, tracks.map((t) => t.consumer.kind), file), { stdio: ['ignore', 'ignore', 'pipe'] });
    return new StandbyFfmpeg(file, tracks, ffmpeg);
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null && this.process.pid !== undefined;
  }

  /** Whether it records exactly these producers and is still whole. */
  fits(producers: { audio: types.Producer | undefined; video: types.Producer }): boolean {
    const wanted = [producers.video, producers.audio].filter((p) => p !== undefined).map((p) => p.id);
    return (
      !this.claimed &&
      this.alive &&
      this.tracks.length === wanted.length &&
      this.tracks.every((t, i) => !t.consumer.closed && t.consumer.producerId === wanted[i])
    );
  }

  /** Hands the tracks to a segment, which closes them (and gives back the RTCP sink) when it ends. */
  claim(): void {
    this.claimed = true;
  }

  releaseRtcp(): void {
    if (this.rtcpReleased) return;
    this.rtcpReleased = true;
    rtcpSink.release();
  }

  /** Not needed after all: ends it and removes what it may have left. */
  discard(): void {
    if (this.claimed) return;
    this.claimed = true;
    for (const t of this.tracks) t.transport.close();
    this.releaseRtcp();
    if (this.alive) this.process.kill('SIGKILL');
    fs.rmSync(`${this.file}.sdp`, { force: true });
    const removeOutput = (): void => fs.rmSync(this.file, { force: true });
    if (this.process.exitCode !== null || this.process.signalCode !== null) removeOutput();
    else this.process.once('exit', removeOutput);
  }
}

interface SegmentEvents {
  /** ffmpeg ended without being asked to (killed, crashed). */
  failed: [reason: string];
  /** Its transports are closed (stopped, or failed). */
  closed: [];
}

export class SegmentRecorder extends EventEmitter<SegmentEvents> {
  readonly file: string;
  readonly startedAt = Date.now();
  /** When media began to flow into the file (the first keyframe), for the timeline. */
  mediaSince = Date.now();
  private readonly tracks: Track[];
  private readonly ffmpeg: ChildProcess;
  private readonly log: Logger;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private tracksClosed = false;
  /** ffmpeg's last complaints, for the log when a segment ends badly. */
  readonly stderr: () => string;
  private readonly exited: Promise<void>;

  private constructor(file: string, tracks: Track[], ffmpeg: ChildProcess, log: Logger) {
    super();
    this.file = file;
    this.tracks = tracks;
    this.ffmpeg = ffmpeg;
    this.log = log;
    let stderr = '';
    ffmpeg.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    this.stderr = () => stderr;
    this.exited = new Promise((resolve) => {
      let ended = false;
      const end = (how: string): void => {
        if (ended) return;
        ended = true;
        if (!this.stopping) {
          const reason = `ffmpeg exited (${how}) ${stderr.trim().split('\n').at(-1) ?? ''}`.trim();
          this.log.error({ file, reason }, 'recorder failed');
          for (const t of this.timers) clearTimeout(t);
          this.closeTracks();
          this.emit('failed', reason);
        }
        resolve();
      };
      if (ffmpeg.exitCode !== null || ffmpeg.signalCode !== null) queueMicrotask(() => end(String(ffmpeg.signalCode ?? ffmpeg.exitCode)));
      ffmpeg.once('exit', (code, signal) => end(String(signal ?? code)));
      // Could not be started at all (no ffmpeg on the machine): 'exit' never comes.
      ffmpeg.once('error', (error) => end(error.message));
    });
  }

  get pid(): number | undefined {
    return this.ffmpeg.pid;
  }

  /** ffmpeg runs and nobody asked it to stop. */
  get running(): boolean {
    return !this.stopping && this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null;
  }

  /** RTP sent to ffmpeg and lost on the way (from ffmpeg's receiver reports), per track. */
  async deliveryStats(): Promise<Array<{ kind: string; packetsSent: number; packetsLost: number }>> {
    const out: Array<{ kind: string; packetsSent: number; packetsLost: number }> = [];
    for (const t of this.tracks) {
      for (const s of await t.consumer.getStats()) {
        if (s.type === 'outbound-rtp') out.push({ kind: t.consumer.kind, packetsSent: s.packetCount, packetsLost: s.packetsLost });
      }
    }
    return out;
  }

  /**
   * Starts recording the producers: through a standby made for them (StandbyFfmpeg.fits), or a
   * new one writing `target` when given a path.
   */
  static async start(
    router: types.Router,
    producers: { audio: types.Producer | undefined; video: types.Producer },
    target: StandbyFfmpeg | string,
    log: Logger,
  ): Promise<SegmentRecorder> {
    const standby = typeof target === 'string' ? await StandbyFfmpeg.spawn(router, producers, target) : target;
    if (!standby.fits(producers)) throw new Error('the standby recorder does not fit these tracks');
    standby.claim();
    const { tracks } = standby;
    const recorder = new SegmentRecorder(standby.file, tracks, standby.process, log);
    recorder.once('closed', () => standby.releaseRtcp());
    try {
      // Media is resumed the moment ffmpeg listens (a fixed wait would either lose the first
      // keyframe on a loaded machine or waste time on an idle one).
      await standby.listening;
      // Lip sync without sender reports: each stream's timeline starts at its first packet, so
      // the microphone is let through when the camera's first keyframe is (the consumer drops
      // video until a keyframe), and both begin at the same moment.
      const [video, ...audio] = tracks;
      const keyframe = firstKeyFrame(video!.consumer, standby.process);
      await video!.consumer.resume();
      recorder.requestKeyFrames();
      await keyframe;
      void video!.consumer.enableTraceEvent([]).catch(() => undefined);
      for (const t of audio) await t.consumer.resume();
      recorder.mediaSince = Date.now();
      return recorder;
    } catch (error) {
      await recorder.stop();
      throw error;
    }
  }

  /** Stops gracefully: ffmpeg finalises the file (SIGINT), then the transports close. */
  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.ffmpeg.exitCode === null && this.ffmpeg.signalCode === null) {
      this.ffmpeg.kill('SIGINT');
      const killer = setTimeout(() => this.ffmpeg.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(killer);
    }
    this.closeTracks();
    fs.rmSync(`${this.file}.sdp`, { force: true });
    const complaints = this.stderr().trim();
    if (complaints) this.log.warn({ file: this.file, ffmpeg: complaints.slice(-500) }, 'ffmpeg reported problems');
  }

  private requestKeyFrames(): void {
    const video = this.tracks.find((t) => t.consumer.kind === 'video')?.consumer;
    if (!video) return;
    const ask = (): void => void video.requestKeyFrame().catch(() => undefined);
    for (const ms of KEYFRAME_REQUESTS_MS) this.timers.push(setTimeout(ask, ms));
    // After the sender pauses and resumes, the decoder needs a fresh keyframe.
    video.on('producerresume', ask);
    // A stall (no video bytes for two checks while the sender is live) usually ends with
    // damaged frames: ask for a keyframe as soon as it shows, so the file recovers cleanly.
    let lastBytes = -1;
    let stalledChecks = 0;
    const watch = setInterval(() => {
      if (video.closed || video.producerPaused) return;
      void video.getStats().then((stats) => {
        const bytes = stats.find((s) => s.type === 'outbound-rtp')?.byteCount ?? 0;
        stalledChecks = bytes === lastBytes ? stalledChecks + 1 : 0;
        lastBytes = bytes;
        if (stalledChecks === STALL_CHECKS) {
          this.log.warn({ file: this.file }, 'recording video stalled; keyframe requested');
          ask();
        }
      }, () => undefined);
    }, STALL_CHECK_MS);
    this.timers.push(watch);
  }

  private closeTracks(): void {
    for (const t of this.tracks) t.transport.close();
    if (!this.tracksClosed) {
      this.tracksClosed = true;
      this.emit('closed');
    }
  }
}

function sdpText(tracks: Track[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=SimStudio recording', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const { consumer, port } of tracks) {
    const codec = consumer.rtpParameters.codecs[0]!;
    const name = codec.mimeType.split('/')[1]!;
    const channels = codec.channels ? `/${codec.channels}` : '';
    lines.push(`m=${consumer.kind} ${port} RTP/AVP ${codec.payloadType}`, `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`, 'a=sendonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
