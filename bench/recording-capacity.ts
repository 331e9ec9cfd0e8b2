// Capacity mode of bench/recording.ts (`npm run bench:recording -- --capacity --levels 1,4 --seconds 10 [--standby]`).
// How much CPU one recorded scenario costs and how many concurrent recordings one mediasoup
// worker core sustains. Synthetic producers: a VP8 + Opus clip (encoded once) replayed by
// ffmpeg with `-c copy` over RTP into mediasoup PlainTransports (two "people" per scenario,
// like candidate and actor), each recorded by SimStudio's recorder (a tap per person: mediasoup
// DirectTransport → Node → WebM stream → ffmpeg copying it into the file). Per level it prints CPU of the worker and of the recorder ffmpegs, RTP loss
// as mediasoup counts it (sender → worker on the producers), the recorder's own CPU in Node
// (taps: RTP to frames, timelines, WebM streams), and
// and frames: for each recording, frames decoded from its file against frames its sender sent
// while it recorded (the clip's rate over the recorder's media window); the total and the worst
// recording are shown, unclamped (more decoded than sent shows as negative loss).
// --standby runs a second recorder per person, as the studio does (its hot standby).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { pino } from 'pino';
import { MEDIA_CODECS } from '../media/codecs.ts';
import { ParticipantTap } from '../media/recording/media-tap.ts';
import { SegmentRecorder } from '../media/recording/segment-recorder.ts';

const { values } = parseArgs({
  options: {
    capacity: { type: 'boolean', default: true },
    minutes: { type: 'string' },
    scenarios: { type: 'string' },
    levels: { type: 'string', default: '1,4,8,16' },
    seconds: { type: 'string', default: '15' },
    standby: { type: 'boolean', default: false },
  },
});
const LEVELS = values.levels.split(',').map(Number);
const SECONDS = Number(values.seconds);
const FPS = 30;
const log = pino({ level: 'error' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-bench-rec-'));
const clip = path.join(dir, 'clip.webm');
const CLOCK_TICK = 100; // USER_HZ on Linux

spawnSync('ffmpeg', [
  '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=${FPS}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  '-c:v', 'libvpx', '-b:v', '600k', '-g', String(FPS / 2), '-deadline', 'realtime', '-c:a', 'libopus', '-ac', '2', '-t', String(SECONDS + 10), '-y', clip,
]);

/** CPU seconds used so far by a process (user + system). */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').trim().replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICK;
  } catch {
    return 0;
  }
}

interface Person {
  video: types.Producer;
  audio: types.Producer;
  sender: ChildProcess;
}

let ssrc = 1000;
async function person(router: types.Router): Promise<Person> {
  const make = async (kind: 'audio' | 'video'): Promise<{ transport: types.PlainTransport; producer: types.Producer; pt: number; ssrc: number }> => {
    const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    const pt = kind === 'video' ? 101 : 100;
    const mySsrc = ssrc++;
    const producer = await transport.produce({
      kind,
      rtpParameters: {
        codecs:
          kind === 'video'
            ? [{ mimeType: 'video/VP8', payloadType: pt, clockRate: 90000 }]
            : [{ mimeType: 'audio/opus', payloadType: pt, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: mySsrc }],
      },
    });
    return { transport, producer, pt, ssrc: mySsrc };
  };
  const v = await make('video');
  const a = await make('audio');
  const target = (t: types.PlainTransport): string => `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple?.localPort ?? t.tuple.localPort + 1}&pkt_size=1200`;
  const sender = spawn(
    'ffmpeg',
    [
      '-v', 'error', '-re', '-i', clip,
      '-map', '0:v:0', '-c', 'copy', '-ssrc', String(v.ssrc), '-payload_type', String(v.pt), '-f', 'rtp', target(v.transport),
      '-map', '0:a:0', '-c', 'copy', '-ssrc', String(a.ssrc), '-payload_type', String(a.pt), '-f', 'rtp', target(a.transport),
    ],
    { stdio: 'ignore' },
  );
  return { video: v.producer, audio: a.producer, sender };
}

/** Where a file's picture begins (s): this sender cannot answer a keyframe request, so its
 *  recordings begin at its next keyframe (up to half a second after the start). */
function firstVideoS(file: string): number {
  const out = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number(out.stdout.trim().split('\n')[0]) || 0;
}

function decodedFrames(file: string): number {
  const out = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return Number.parseInt(out.stdout.trim(), 10) || 0;
}

const worker = await mediasoup.createWorker({ logLevel: 'error', disableLiburing: true });
interface Row {
  level: number;
  nodeCpu: number;
  workerCpu: number;
  recorderCpu: number;
  perScenario: number;
  senderLossPct: number;
  consumerPackets: number;
  framesSent: number;
  framesGot: number;
  worstPct: number;
}
const rows: Row[] = [];
const perRecorder = values.standby ? 2 : 1;
/** This process's CPU seconds: the recorder's own share (its taps, timelines and WebM streams). */
const ownCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

for (const level of LEVELS) {
  const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
  const people: Person[] = [];
  for (let i = 0; i < level * 2; i++) people.push(await person(router));
  await new Promise((r) => setTimeout(r, 1000));
  const recorders: SegmentRecorder[] = [];
  const standbys: SegmentRecorder[] = [];
  const taps: ParticipantTap[] = [];
  for (const [i, p] of people.entries()) {
    const tap = await ParticipantTap.open(router, `p${i}`, log);
    await tap.add(p.video, router);
    await tap.add(p.audio, router);
    taps.push(tap);
  }
  await new Promise((r) => setTimeout(r, 1000));
  for (const [i, tap] of taps.entries()) {
    recorders.push(SegmentRecorder.start(tap, path.join(dir, `l${level}-p${i}.webm`), Date.now(), log));
    for (let k = 1; k < perRecorder; k++) standbys.push(SegmentRecorder.start(tap, path.join(dir, `l${level}-p${i}-s${k}.webm`), Date.now(), log));
  }
  await Promise.all(recorders.map((r) => r.ready));
  const all = [...recorders, ...standbys];
  const pids = all.map((r) => r.pid!).filter(Boolean);
  const workerStart = cpuSeconds(worker.pid);
  const nodeStart = ownCpuSeconds();
  const recStart = pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const producerStart = await Promise.all(people.map((p) => p.video.getStats()));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const elapsed = (Date.now() - t0) / 1000;
  const workerCpu = ((cpuSeconds(worker.pid) - workerStart) / elapsed) * 100;
  const nodeCpu = ((ownCpuSeconds() - nodeStart) / elapsed) * 100;
  const recorderCpu = ((pids.reduce((s, p) => s + cpuSeconds(p), 0) - recStart) / elapsed) * 100;
  const stoppedAt = Date.now();
  // RTP loss the worker saw from the senders (its receiver-side counters), over the window.
  const producerEnd = await Promise.all(people.map((p) => p.video.getStats()));
  let senderPackets = 0;
  let senderLost = 0;
  producerEnd.forEach((stats, i) => {
    const end = stats.find((s) => s.type === 'inbound-rtp');
    const start = producerStart[i]!.find((s) => s.type === 'inbound-rtp');
    senderPackets += (end?.packetCount ?? 0) - (start?.packetCount ?? 0);
    senderLost += (end?.packetsLost ?? 0) - (start?.packetsLost ?? 0);
  });
  let consumerPackets = 0;
  for (const tap of taps) {
    for (const track of tap.tracks.values()) consumerPackets += (await track.consumer.getStats()).find((s) => s.type === 'outbound-rtp')?.packetCount ?? 0;
  }
  await Promise.all(all.map((r) => r.stop()));
  for (const tap of taps) tap.close();
  for (const p of people) p.sender.kill('SIGKILL');
  let framesSent = 0;
  let framesGot = 0;
  let worstPct = Number.NEGATIVE_INFINITY;
  for (const r of recorders) {
    // The sender replays the clip at exactly FPS frames per second (-re): what it sent from the
    // recording's first picture (a keyframe) to the stop.
    const sent = ((stoppedAt - r.mediaSince) / 1000 - firstVideoS(r.file)) * FPS;
    const got = decodedFrames(r.file);
    framesSent += sent;
    framesGot += got;
    worstPct = Math.max(worstPct, (1 - got / sent) * 100);
  }
  router.close();
  rows.push({
    level,
    nodeCpu,
    workerCpu,
    recorderCpu,
    perScenario: (nodeCpu + workerCpu + recorderCpu) / level,
    senderLossPct: senderPackets ? (senderLost / senderPackets) * 100 : 0,
    consumerPackets,
    framesSent,
    framesGot,
    worstPct,
  });
}
worker.close();

const col = (text: string, width: number): string => text.padStart(width);
process.stdout.write(
  `recorded scenarios (2 people each, VP8 640x360@${FPS} + Opus), ${SECONDS} s per level, one mediasoup worker, ${os.cpus().length} cores, ${perRecorder} recorder(s) per person\n`,
);
process.stdout.write(
  `${'scenarios'.padEnd(10)}${col('Node CPU %', 12)}${col('worker CPU %', 14)}${col('ffmpeg CPU %', 14)}${col('CPU %/scen.', 13)}${col('RTP lost %', 12)}${col('frames sent', 13)}${col('decoded', 10)}${col('lost %', 9)}${col('worst rec. %', 14)}\n`,
);
for (const r of rows) {
  process.stdout.write(
    `${String(r.level).padEnd(10)}${col(r.nodeCpu.toFixed(1), 12)}${col(r.workerCpu.toFixed(1), 14)}${col(r.recorderCpu.toFixed(1), 14)}${col(r.perScenario.toFixed(1), 13)}${col(r.senderLossPct.toFixed(2), 12)}` +
      `${col(r.framesSent.toFixed(0), 13)}${col(String(r.framesGot), 10)}${col(((1 - r.framesGot / r.framesSent) * 100).toFixed(2), 9)}${col(r.worstPct.toFixed(2), 14)}\n`,
  );
}
// What reaches a file is what counts: hence the frames decoded from each one.
const sustained = rows.filter((r) => r.worstPct < 1 && r.workerCpu < 100).map((r) => r.level);
process.stdout.write(`sustained with < 1% of frames lost in every recording: ${sustained.length ? Math.max(...sustained) : 0} of the levels tried (${LEVELS.join(', ')})\n`);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
