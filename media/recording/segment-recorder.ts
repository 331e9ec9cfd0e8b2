// Records one participant's camera and microphone into one WebM file, without transcoding:
// mediasoup sends RTP over two PlainTransports on loopback to an ffmpeg process that copies
// VP8 and Opus into WebM. One instance is one segment; when ffmpeg dies, the session
// recorder starts a new segment (playback joins the segments).
//
// Crash tolerance: the WebM muxer keeps the open cluster in memory and writes it when the
// cluster closes, so a killed ffmpeg loses the open cluster. Clusters are closed every
// CLUSTER_MS and written out at once (-flush_packets), and probing is kept short (packets
// held while probing are lost too): a killed ffmpeg loses at most about the last half second
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
// listens on its ports and waits, idle, until a segment hands it media. A replacement then
// costs two PlainTransports and a keyframe, not a process start.
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
const KEYFRAME_WAIT_MS = 1500;
/** The longest wait for ffmpeg to bind its RTP ports before media is resumed regardless. */
const FFMPEG_BIND_TIMEOUT_MS = 3000;
/** Longest stretch of media a killed ffmpeg can lose (the open, unwritten cluster). */
const CLUSTER_MS = 500;
/** Probing: the SDP names the codecs; the first keyframe gives the picture size. */
const ANALYZE_US = 1_000_000;

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
      void consumer.enableTraceEvent([]).catch(() => undefined);
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

/** What a segment of these producers records, in the order ffmpeg maps it. */
export function kindsOf(producers: { audio: types.Producer | undefined; video: types.Producer }): Kind[] {
  return producers.audio ? ['video', 'audio'] : ['video'];
}

interface SdpTrack {
  kind: Kind;
  port: number;
  payloadType: number;
  mimeType: string;
  clockRate: number;
  channels?: number | undefined;
}

/** The router's codec for a kind: consumers of it carry the router's payload type. */
function routerCodec(router: types.Router, kind: Kind): types.RtpCodecCapability {
  const codec = router.rtpCapabilities.codecs?.find((c) => c.kind === kind && !/\/rtx$/i.test(c.mimeType));
  if (!codec) throw new Error(`the router has no ${kind} codec`);
  return codec;
}

/**
 * An ffmpeg that already runs and listens on its RTP ports, writing to `file` once media
 * arrives (it opens its output only after probing its input, so an unused standby leaves no
 * file). Used by exactly one segment, or discarded.
 */
export class StandbyFfmpeg {
  readonly file: string;
  readonly kinds: readonly Kind[];
  readonly process: ChildProcess;
  readonly sdp: SdpTrack[];
  /** Settles true once ffmpeg listens on every port (false: it died, or never did in time). */
  readonly listening: Promise<boolean>;
  private claimed = false;

  private constructor(file: string, kinds: readonly Kind[], sdp: SdpTrack[], process: ChildProcess) {
    this.file = file;
    this.kinds = kinds;
    this.sdp = sdp;
    this.process = process;
    process.once('error', () => undefined);
    this.listening = (async () => {
      const deadline = Date.now() + FFMPEG_BIND_TIMEOUT_MS;
      while (process.exitCode === null && process.signalCode === null && Date.now() < deadline) {
        if (sdp.every((t) => udpPortBound(t.port))) return true;
        await new Promise((r) => setTimeout(r, 10));
      }
      return sdp.every((t) => udpPortBound(t.port)) && process.exitCode === null;
    })();
  }

  static async spawn(router: types.Router, kinds: readonly Kind[], file: string): Promise<StandbyFfmpeg> {
    const sdp: SdpTrack[] = [];
    for (const kind of kinds) {
      const codec = routerCodec(router, kind);
      sdp.push({ kind, port: await freePortPair(), payloadType: codec.preferredPayloadType!, mimeType: codec.mimeType, clockRate: codec.clockRate, channels: codec.channels });
    }
    const sdpFile = `${file}.sdp`;
    fs.writeFileSync(sdpFile, sdpText(sdp));
    const ffmpeg = spawnTied('ffmpeg', ffmpegArgs(sdpFile, kinds, file), { stdio: ['ignore', 'ignore', 'pipe'] });
    return new StandbyFfmpeg(file, kinds, sdp, ffmpeg);
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null && this.process.pid !== undefined;
  }

  /** Whether it can record exactly these tracks. */
  fits(kinds: readonly Kind[]): boolean {
    return !this.claimed && this.alive && kinds.length === this.kinds.length && kinds.every((k, i) => this.kinds[i] === k);
  }

  claim(): void {
    this.claimed = true;
  }

  /** Not needed after all: ends it and removes what it may have left. */
  discard(): void {
    if (this.claimed) return;
    this.claimed = true;
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
   * Starts recording the producers: into a standby that fits them (see StandbyFfmpeg.fits;
   * spawned on this router), or into a new ffmpeg writing `target` when given a path.
   */
  static async start(
    router: types.Router,
    producers: { audio: types.Producer | undefined; video: types.Producer },
    target: StandbyFfmpeg | string,
    log: Logger,
  ): Promise<SegmentRecorder> {
    const kinds = kindsOf(producers);
    const standby = typeof target === 'string' ? await StandbyFfmpeg.spawn(router, kinds, target) : target;
    if (!standby.fits(kinds)) throw new Error('the standby recorder does not fit these tracks');
    standby.claim();
    const file = standby.file;
    const tracks: Track[] = [];
    try {
      for (const [i, producer] of [producers.video, producers.audio].filter((p) => p !== undefined).entries()) {
        const transport = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: false,
          comedia: false,
        });
        // Paused until ffmpeg listens; resuming then asks the sender for a keyframe.
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
        tracks.push({ transport, consumer, port: standby.sdp[i]!.port });
        if (consumer.rtpParameters.codecs[0]?.payloadType !== standby.sdp[i]!.payloadType) throw new Error('the consumer does not carry the router payload type');
      }
      const recorder = new SegmentRecorder(standby.file, tracks, standby.process, log);
      // Media is resumed the moment ffmpeg listens (a fixed wait would either lose the first
      // keyframe on a loaded machine or waste time on an idle one).
      await standby.listening;
      const rtcpPort = await rtcpSink.acquire();
      recorder.once('closed', () => rtcpSink.release());
      for (const t of tracks) await t.transport.connect({ ip: '127.0.0.1', port: t.port, rtcpPort });
      // Lip sync without sender reports: each stream's timeline starts at its first packet, so
      // the microphone is let through when the camera's first keyframe is (the consumer drops
      // video until a keyframe), and both begin at the same moment.
      const [video, ...audio] = tracks;
      await video!.consumer.enableTraceEvent(['keyframe']).catch(() => undefined);
      const keyframe = firstKeyFrame(video!.consumer, standby.process);
      await video!.consumer.resume();
      recorder.requestKeyFrames();
      await keyframe;
      for (const t of audio) await t.consumer.resume();
      return recorder;
    } catch (error) {
      for (const t of tracks) t.transport.close();
      if (standby.alive) standby.process.kill('SIGKILL');
      fs.rmSync(`${file}.sdp`, { force: true });
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

function sdpText(tracks: SdpTrack[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=SimStudio recording', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const t of tracks) {
    const name = t.mimeType.split('/')[1]!;
    const channels = t.channels ? `/${t.channels}` : '';
    lines.push(`m=${t.kind} ${t.port} RTP/AVP ${t.payloadType}`, `a=rtpmap:${t.payloadType} ${name}/${t.clockRate}${channels}`, 'a=sendonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
