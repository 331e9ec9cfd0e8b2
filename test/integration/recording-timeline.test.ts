// The recorder's timeline through what a live sender does to its stream: the producer paused
// and resumed, and the sender restarted (new random RTP timestamps and sequence numbers, as a
// new encoder or an ICE restart on some browsers gives). A VP8 + Opus clip is replayed over RTP
// by ffmpeg (with RTCP sender reports) into real mediasoup producers, tapped and recorded by
// SimStudio's recorder. The file decodes without a word, each track's times only increase, the
// pause shows as a pause, and the restart neither jumps the timeline nor loses what follows.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { MEDIA_CODECS } from '../../media/codecs.ts';
import { ParticipantTap } from '../../media/recording/media-tap.ts';
import { SegmentRecorder } from '../../media/recording/segment-recorder.ts';
import { decodeComplaints } from '../helpers/av-marks.ts';
import { pollUntil } from '../helpers/browser.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-timeline-'));
const clip = path.join(dir, 'clip.webm');
let worker: types.Worker | undefined;
const senders: ChildProcess[] = [];
afterAll(() => {
  for (const s of senders) s.kill('SIGKILL');
  worker?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** An even UDP port that is free on 127.0.0.1, with the odd one after it (RTP and RTCP). */
async function freeUdpPair(): Promise<number> {
  const bind = (port: number) =>
    new Promise<dgram.Socket | null>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(null));
      socket.bind(port, '127.0.0.1', () => resolve(socket));
    });
  for (;;) {
    const first = await bind(0);
    if (!first) continue;
    const port = first.address().port;
    const second = port % 2 === 0 && port < 65535 ? await bind(port + 1) : null;
    first.close();
    second?.close();
    if (second) return port;
  }
}

/** Packet times (s) of one stream of a file. */
function packetTimes(file: string, stream: 'v:0' | 'a:0'): number[] {
  const out = spawnSync('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return out.stdout.trim().split('\n').filter(Boolean).map(Number);
}


it('keeps one clean timeline through a pause and a sender restart', async () => {
  // Keyframes every second: this sender cannot answer a keyframe request.
  const made = spawnSync('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libvpx', '-b:v', '300k', '-g', '30', '-deadline', 'realtime', '-c:a', 'libopus', '-ac', '2', '-t', '20', '-y', clip,
  ]);
  expect(made.status).toBe(0);
  worker = await mediasoup.createWorker({ logLevel: 'error', disableLiburing: true });
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const track = async (kind: 'audio' | 'video', ssrc: number) => {
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    const pt = kind === 'video' ? 101 : 100;
    const producer = await transport.produce({
      kind,
      rtpParameters: {
        codecs: kind === 'video' ? [{ mimeType: 'video/VP8', payloadType: pt, clockRate: 90000 }] : [{ mimeType: 'audio/opus', payloadType: pt, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc }],
      },
    });
    // A fixed source port: the transport takes media from the address it first heard (comedia),
    // so the restarted sender must send from the same one. The system picks it (a port of its
    // own choosing could be held by a media server of a test running beside this one).
    const from = await freeUdpPair();
    const rtcp = transport.rtcpTuple?.localPort ?? transport.tuple.localPort + 1;
    return { transport, producer, pt, ssrc, url: `rtp://127.0.0.1:${transport.tuple.localPort}?rtcpport=${rtcp}&localrtpport=${from}&localrtcpport=${from + 1}&pkt_size=1200` };
  };
  const video = await track('video', 2222);
  const audio = await track('audio', 3333);
  let complaints = '';
  const send = (): ChildProcess => {
    const sender = spawn('ffmpeg', [
      '-v', 'error', '-re', '-i', clip,
      '-map', '0:v:0', '-c', 'copy', '-ssrc', String(video.ssrc), '-payload_type', String(video.pt), '-f', 'rtp', video.url,
      '-map', '0:a:0', '-c', 'copy', '-ssrc', String(audio.ssrc), '-payload_type', String(audio.pt), '-f', 'rtp', audio.url,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    sender.stderr!.on('data', (chunk: Buffer) => (complaints += chunk.toString()));
    senders.push(sender);
    return sender;
  };
  /** Kills a sender and waits until it is gone: until then it holds the ports the next one needs. */
  const stop = async (sender: ChildProcess): Promise<void> => {
    if (sender.exitCode !== null || sender.signalCode !== null) return;
    const gone = new Promise((r) => sender.once('exit', r));
    sender.kill('SIGKILL');
    await gone;
  };
  let sender = send();

  const tap = await ParticipantTap.open(router, 'sender', pino({ level: 'silent' }));
  await tap.add(video.producer, router);
  await tap.add(audio.producer, router);
  await pollUntil('media tapped', 10_000, async () => (tap.tracks.get('video')?.recent.length ?? 0) > 0 && (tap.tracks.get('audio')?.recent.length ?? 0) > 0);
  const file = path.join(dir, 'segment.webm');
  const startedAt = Date.now();
  const recorder = SegmentRecorder.start(tap, file, startedAt, pino({ level: 'silent' }));
  // Its frames are held until sender reports time both tracks; the file still begins at the start.
  await recorder.ready;
  expect(recorder.timing).toBe('sender-report');
  expect(Math.abs(recorder.mediaSince - startedAt)).toBeLessThan(400);
  /** Seconds since the start: where a moment lies in the file. */
  const now = (): number => (Date.now() - startedAt) / 1000;
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await wait(2500);

  // A pause of 3 s (the sender goes on; the media server forwards nothing).
  const pausedAt = now();
  await video.producer.pause();
  await audio.producer.pause();
  await wait(3000);
  await video.producer.resume();
  await audio.producer.resume();
  const resumedAt = now();
  await wait(2500);

  // The sender restarts: new random timestamps and sequence numbers.
  const restartedAt = now();
  await stop(sender);
  sender = send();
  await pollUntil(`the restart seen (sender said: ${complaints || 'nothing'})`, 20_000, async () => (tap.tracks.get('video')?.clock.restarts ?? 0) >= 1 && (tap.tracks.get('audio')?.clock.restarts ?? 0) >= 1);
  // The new sender's start-up is the machine's to take (slow when busy); what follows is ours.
  const restartSeenAt = now();
  await wait(3000);
  const stoppedAt = now();
  await recorder.stop();
  tap.close();

  expect(decodeComplaints(file)).toBe('');
  const v = packetTimes(file, 'v:0');
  const a = packetTimes(file, 'a:0');
  const big = (times: number[]): string => times.slice(1).flatMap((t, i) => (t - times[i]! > 0.3 ? [`${times[i]!.toFixed(2)}→${t.toFixed(2)}`] : [])).join(' ');
  process.stdout.write(`[timeline] video ${v[0]}…${v.at(-1)} gaps ${big(v)}; audio ${a[0]}…${a.at(-1)} gaps ${big(a)}\n`);
  for (const times of [v, a]) expect(times.every((t, i) => i === 0 || t > times[i - 1]!), 'times only increase').toBe(true);
  // The pause is where it happened, as long as it was; the restart costs the sender's start-up
  // (until the restart was seen), and for the picture up to a second more (the media server drops
  // the first packets of a renumbered stream, and this sender's next keyframe is a second away).
  const gapsOf = (times: number[]) => times.slice(1).map((t, i) => ({ from: times[i]!, to: t })).filter((g) => g.to - g.from > 0.3);
  for (const [name, times, afterSeen] of [['video', v, 1.2], ['audio', a, 0.3]] as const) {
    const long = gapsOf(times);
    const pause = long.find((g) => Math.abs(g.from - pausedAt) < 0.6);
    expect(pause, `${name}: the pause at ${pausedAt.toFixed(2)} s (gaps ${JSON.stringify(long)})`).toBeDefined();
    expect(Math.abs(pause!.to - resumedAt), `${name}: media again at the resume`).toBeLessThan(1.2);
    for (const g of long.filter((x) => x !== pause)) {
      expect(Math.abs(g.from - restartedAt), `${name}: a gap at ${g.from} s that is not the restart`).toBeLessThan(0.6);
      expect(g.to, `${name}: media again after the restart (seen at ${restartSeenAt.toFixed(2)} s)`).toBeLessThan(restartSeenAt + afterSeen);
    }
    expect(Math.abs(times.at(-1)! - stoppedAt), `${name}: ends at the stop`).toBeLessThan(0.5);
    expect(times.filter((t) => t > stoppedAt - 2.5).length, `${name}: media after the restart`).toBeGreaterThan(name === 'video' ? 50 : 100);
  }
}, 90_000);
