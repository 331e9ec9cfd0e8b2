// Media whose picture and sound carry the same marks, and the marks found again in a
// recording: the measure of lip sync (ITU-R BT.1359) end to end.
//
// The camera shows black with a white flash (two frames) at every whole second; the microphone
// is silent with a 1 kHz beep (50 ms) at every whole second. Chromium plays them as its fake
// camera and microphone (--use-file-for-fake-video-capture / -audio-capture, both looping).
// In a recording, flashes are found with ffmpeg's signalstats (mean luma per frame) and beeps
// with silencedetect; each beep is paired with the nearest flash, and the offset is
// beep − flash: positive when the sound is late.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const MARK_FPS = 30;
/** One loop of the fake devices (both files have this length). */
const LOOP_SECONDS = 10;

/** ITU-R BT.1359: detectable when sound is more than 45 ms early or 125 ms late. */
export const BT1359 = { earliestMs: -45, latestMs: 125 };

/** Writes the marked camera (Y4M) and microphone (WAV) files into `dir`. */
export function makeMarkedMedia(dir: string): { video: string; audio: string; args: string[] } {
  const video = path.join(dir, 'marks.y4m');
  const audio = path.join(dir, 'marks.wav');
  const run = (args: string[]): void => {
    const out = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`ffmpeg: ${out.stderr}`);
  };
  run([
    '-f', 'lavfi', '-i', `color=c=black:s=320x240:r=${MARK_FPS}:d=${LOOP_SECONDS}`,
    '-vf', `geq=lum='if(lt(mod(N,${MARK_FPS}),2),235,16)':cb=128:cr=128`,
    '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', video,
  ]);
  run([
    '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t,1),0.05),0.6*sin(2*PI*1000*t),0)':s=48000:d=${LOOP_SECONDS}`,
    '-ac', '1', '-c:a', 'pcm_s16le', audio,
  ]);
  return { video, audio, args: [`--use-file-for-fake-video-capture=${video}`, `--use-file-for-fake-audio-capture=${audio}`] };
}

/** Times (s, on the file's timeline) when a flash begins: a bright frame after a dark one. */
export function flashTimes(file: string): number[] {
  const out = spawnSync(
    'ffprobe',
    ['-v', 'error', '-f', 'lavfi', '-i', `movie=${file.replace(/([:\\\\'])/g, '\\\\$1')},signalstats`, '-show_entries', 'frame=pts_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const times: number[] = [];
  let bright = false;
  for (const line of out.stdout.trim().split('\n')) {
    const [time, yavg] = line.split(',').map(Number);
    if (time === undefined || yavg === undefined || !Number.isFinite(time)) continue;
    const now = yavg > 100;
    if (now && !bright) times.push(time);
    bright = now;
  }
  return times;
}

/** Times (s, on the file's timeline) when a beep begins (the end of a stretch of silence). */
export function beepTimes(file: string): number[] {
  // -copyts: the file's own timeline (by default ffmpeg moves the earliest stream to zero, and
  // the picture may begin before the sound), the one signalstats reads the flashes on.
  const out = spawnSync('ffmpeg', ['-nostats', '-copyts', '-i', file, '-map', '0:a:0', '-af', 'silencedetect=noise=-30dB:d=0.3', '-f', 'null', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return [...out.stderr.matchAll(/silence_end: (-?[\d.]+)/g)].map((m) => Number(m[1]));
}

/** Start time (s) of a file's first video and audio packets. */
export function streamStarts(file: string): { video: number; audio: number } {
  const first = (stream: string): number => {
    const out = spawnSync('ffprobe', ['-v', 'error', '-select_streams', stream, '-show_entries', 'packet=pts_time', '-read_intervals', '%+#1', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    return Number(out.stdout.trim().split('\n')[0]);
  };
  return { video: first('v:0'), audio: first('a:0') };
}

export interface SyncMeasure {
  /** (flash time, beep − flash in ms) for every beep with a flash within half a second. */
  pairs: Array<{ atS: number; offsetMs: number }>;
}

export function measureSync(file: string): SyncMeasure {
  return { pairs: pairMarks(flashTimes(file), beepTimes(file), 1000).map((p) => ({ atS: p.at, offsetMs: Math.round(p.offsetMs) })) };
}

/**
 * The marks as the sender captured them: an init script for a sending page. Every camera and
 * microphone track the page sends (to a peer connection) is watched: a flash at its frame's
 * capture time (requestVideoFrameCallback's captureTime), a beep at its audio's capture time
 * (MediaStreamTrackProcessor's AudioData timestamp), both on the page's performance clock.
 * Chromium's fake devices start (and the file camera falls behind) independently of each
 * other, and each new microphone track starts its own fake device, so the source itself is not
 * in step; the recorder is judged by what it adds to the offset of the tracks actually sent.
 */
export const WATCH_SENDER_MARKS = (): void => {
  type Marks = { flashes: number[]; beeps: number[]; origin: number };
  const w = window as unknown as { __sent: { video?: Marks; audio?: Marks } };
  const watched = new Map<string, Marks>();
  w.__sent = {};
  const watchVideo = (track: MediaStreamTrack, marks: Marks): void => {
    const video = document.createElement('video');
    video.muted = true;
    video.srcObject = new MediaStream([track.clone()]);
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 8;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    let bright = false;
    const onFrame = (_now: number, meta: { captureTime?: number }): void => {
      ctx.drawImage(video, 0, 0, 8, 8);
      const now = ctx.getImageData(0, 0, 8, 8).data[0]! > 128;
      if (now && !bright && meta.captureTime !== undefined) marks.flashes.push(meta.captureTime);
      bright = now;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    void video.play();
  };
  const watchAudio = (track: MediaStreamTrack, marks: Marks): void => {
    const Processor = (window as unknown as { MediaStreamTrackProcessor: new (o: { track: MediaStreamTrack }) => { readable: ReadableStream<AudioData> } }).MediaStreamTrackProcessor;
    const reader = new Processor({ track: track.clone() }).readable.getReader();
    let quiet = Number.POSITIVE_INFINITY;
    const read = async (): Promise<void> => {
      for (;;) {
        const { value } = await reader.read();
        if (!value) return;
        const samples = new Float32Array(value.numberOfFrames);
        value.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
        for (let i = 0; i < samples.length; i++) {
          if (Math.abs(samples[i]!) > 0.05) {
            if (quiet > 0.3 * value.sampleRate) marks.beeps.push(value.timestamp / 1000 + (i / value.sampleRate) * 1000);
            quiet = 0;
          } else quiet++;
        }
        value.close();
      }
    };
    void read();
  };
  const sent = (track: MediaStreamTrack | null | undefined): void => {
    if (!track || (track.kind !== 'audio' && track.kind !== 'video')) return;
    let marks = watched.get(track.id);
    if (!marks) {
      marks = { flashes: [], beeps: [], origin: performance.timeOrigin };
      watched.set(track.id, marks);
      if (track.kind === 'video') watchVideo(track, marks);
      else watchAudio(track, marks);
    }
    w.__sent[track.kind as 'audio' | 'video'] = marks;
  };
  const pc = RTCPeerConnection.prototype;
  const addTransceiver = pc.addTransceiver;
  pc.addTransceiver = function (this: RTCPeerConnection, trackOrKind: MediaStreamTrack | string, init?: RTCRtpTransceiverInit) {
    if (typeof trackOrKind !== 'string') sent(trackOrKind);
    return addTransceiver.call(this, trackOrKind, init);
  };
  const addTrack = pc.addTrack;
  pc.addTrack = function (this: RTCPeerConnection, track: MediaStreamTrack, ...streams: MediaStream[]) {
    sent(track);
    return addTrack.call(this, track, ...streams);
  };
  const replaceTrack = RTCRtpSender.prototype.replaceTrack;
  RTCRtpSender.prototype.replaceTrack = function (this: RTCRtpSender, track: MediaStreamTrack | null) {
    sent(track);
    return replaceTrack.call(this, track);
  };
};

/** Wall-clock times (ms) of the marks in the camera and microphone tracks the page sends last. */
export async function senderMarks(page: import('playwright-core').Page): Promise<{ flashes: number[]; beeps: number[] }> {
  const sent = await page.evaluate(() => (window as unknown as { __sent: { video?: { flashes: number[]; origin: number }; audio?: { beeps: number[]; origin: number } } }).__sent);
  return {
    flashes: (sent.video?.flashes ?? []).map((t) => t + sent.video!.origin),
    beeps: (sent.audio?.beeps ?? []).map((t) => t + sent.audio!.origin),
  };
}

/**
 * Beep − flash (ms) for each beep and flash that are each other's nearest and within half a
 * second (a mark cut in two at either end of a recording pairs with nothing), at the flash.
 */
export function pairMarks(flashes: readonly number[], beeps: readonly number[], unitMs: number): Array<{ at: number; offsetMs: number }> {
  const nearest = (t: number, list: readonly number[]): number | null => {
    let best: number | null = null;
    for (const x of list) if (best === null || Math.abs(x - t) < Math.abs(best - t)) best = x;
    return best;
  };
  const pairs: Array<{ at: number; offsetMs: number }> = [];
  for (const beep of beeps) {
    const flash = nearest(beep, flashes);
    if (flash === null || nearest(flash, beeps) !== beep || Math.abs(flash - beep) * unitMs >= 500) continue;
    pairs.push({ at: flash, offsetMs: (beep - flash) * unitMs });
  }
  return pairs;
}

/** Everything `ffmpeg -v error -xerror -i file -f null -` says (nothing: it decodes cleanly). */
export function decodeComplaints(file: string): string {
  const run = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${run.status === 0 ? '' : `exit ${run.status} `}${run.stderr.trim()}`;
}

export interface MarkOffset {
  /** Where the mark lies in the file (s). */
  atS: number;
  /** Beep − flash in the file, in what the sender captured, and what the recording added (ms). */
  fileMs: number;
  senderMs: number;
  addedMs: number;
}

export interface RecordingCheck {
  /** First video frame and first audio packet, ms after the phase start. */
  firstVideoMs: number;
  firstAudioMs: number;
  /** Every mark found in the file, matched with the same mark as the sender captured it. */
  marks: MarkOffset[];
  /** Marks found in the file (matched or not). */
  fileMarks: number;
  complaints: string;
}

/**
 * One participant's recording against what their page sent: `startedAt` is the server time of
 * the file's zero, `sent` the sender's marks on the wall clock (senderMarks).
 */
export function checkRecording(file: string, startedAt: number, phaseStartedAt: number, sent: { flashes: number[]; beeps: number[] }): RecordingCheck {
  const starts = streamStarts(file);
  const filePairs = measureSync(file).pairs.map((p) => ({ at: startedAt + p.atS * 1000, atS: p.atS, offsetMs: p.offsetMs }));
  const source = pairMarks(sent.flashes, sent.beeps, 1);
  const marks = filePairs.flatMap((p) => {
    const same = source.find((s) => Math.abs(s.at - p.at) < 400);
    return same ? [{ atS: p.atS, fileMs: p.offsetMs, senderMs: Math.round(same.offsetMs), addedMs: Math.round(p.offsetMs - same.offsetMs) }] : [];
  });
  return {
    firstVideoMs: startedAt + starts.video * 1000 - phaseStartedAt,
    firstAudioMs: startedAt + starts.audio * 1000 - phaseStartedAt,
    marks,
    fileMarks: filePairs.length,
    complaints: decodeComplaints(file),
  };
}

/** The median of what the recording added over some marks (one missed flash moves a single mark by a frame). */
export function medianAdded(marks: readonly MarkOffset[]): number {
  const sorted = marks.map((m) => m.addedMs).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
