// Records one participant's camera and microphone into one WebM file, without transcoding:
// mediasoup sends RTP over two PlainTransports on loopback to an ffmpeg process that copies
// VP8 and Opus into WebM. One instance is one segment; when ffmpeg dies, the session
// recorder starts a new segment (playback joins the segments).
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { types } from 'mediasoup';
import type { Logger } from '../../server/log.ts';

/** Keyframe requests after start: the file must begin on a keyframe, and a lost one is re-asked. */
const KEYFRAME_REQUESTS_MS = [0, 300, 1000, 2000, 4000];
/** Stall detection: no new video bytes in this many checks this far apart. */
const STALL_CHECK_MS = 1000;
const STALL_CHECKS = 2;
/** How long ffmpeg gets to bind its RTP ports before media is resumed. */
const FFMPEG_STARTUP_MS = 300;

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

interface Track {
  transport: types.PlainTransport;
  consumer: types.Consumer;
  port: number;
}

interface SegmentEvents {
  /** ffmpeg ended without being asked to (killed, crashed). */
  failed: [reason: string];
}

export class SegmentRecorder extends EventEmitter<SegmentEvents> {
  readonly file: string;
  readonly startedAt = Date.now();
  private readonly tracks: Track[];
  private readonly ffmpeg: ChildProcess;
  private readonly log: Logger;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
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
      ffmpeg.once('exit', (code, signal) => {
        if (!this.stopping) {
          const reason = `ffmpeg exited (${signal ?? code}) ${stderr.trim().split('\n').at(-1) ?? ''}`.trim();
          this.log.error({ file, reason }, 'recorder failed');
          for (const t of this.timers) clearTimeout(t);
          this.closeTracks();
          this.emit('failed', reason);
        }
        resolve();
      });
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

  static async start(
    router: types.Router,
    producers: { audio: types.Producer | undefined; video: types.Producer },
    file: string,
    log: Logger,
  ): Promise<SegmentRecorder> {
    const tracks: Track[] = [];
    try {
      for (const producer of [producers.video, producers.audio]) {
        if (!producer) continue;
        const port = await freePortPair();
        const transport = await router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
          rtcpMux: false,
          comedia: false,
        });
        // Paused until ffmpeg listens; resuming then asks the sender for a keyframe.
        const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
        tracks.push({ transport, consumer, port });
      }
      const sdpFile = `${file}.sdp`;
      fs.writeFileSync(sdpFile, sdpFor(tracks));
      const ffmpeg = spawn(
        'ffmpeg',
        [
          '-hide_banner', '-loglevel', 'error', '-nostdin',
          '-protocol_whitelist', 'file,udp,rtp',
          '-fflags', '+genpts',
          '-i', sdpFile,
          ...tracks.flatMap((t) => ['-map', `0:${t.consumer.kind === 'video' ? 'v' : 'a'}:0`]),
          '-c', 'copy',
          '-f', 'webm',
          '-y', file,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const recorder = new SegmentRecorder(file, tracks, ffmpeg, log);
      await new Promise((r) => setTimeout(r, FFMPEG_STARTUP_MS));
      for (const t of tracks) {
        // RTCP keeps flowing both ways (sender reports give ffmpeg lip sync).
        await t.transport.connect({ ip: '127.0.0.1', port: t.port, rtcpPort: t.port + 1 });
        await t.consumer.resume();
      }
      recorder.requestKeyFrames();
      return recorder;
    } catch (error) {
      for (const t of tracks) t.transport.close();
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
  }
}

function sdpFor(tracks: Track[]): string {
  const lines = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=SimStudio recording', 'c=IN IP4 127.0.0.1', 't=0 0'];
  for (const { consumer, port } of tracks) {
    const codec = consumer.rtpParameters.codecs[0]!;
    const name = codec.mimeType.split('/')[1]!;
    const channels = codec.channels ? `/${codec.channels}` : '';
    lines.push(
      `m=${consumer.kind} ${port} RTP/AVP ${codec.payloadType}`,
      `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`,
      'a=sendonly',
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
