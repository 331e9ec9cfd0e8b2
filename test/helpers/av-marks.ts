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
  const out = spawnSync('ffmpeg', ['-nostats', '-i', file, '-map', '0:a:0', '-af', 'silencedetect=noise=-30dB:d=0.3', '-f', 'null', '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
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
 * The marks as the sender captured them: an init script for a sending page. Each camera and
 * microphone track the page obtains is watched: a flash at its frame's capture time
 * (requestVideoFrameCallback's captureTime), a beep at its audio's capture time
 * (MediaStreamTrackProcessor's AudioData timestamp), both on the page's performance clock.
 * Chromium's fake devices start (and the file camera falls behind) independently of each
 * other, so the source itself is not in sync; the recorder is judged by what it adds to this.
 */
export const WATCH_SENDER_MARKS = (): void => {
  const w = window as unknown as { __marks: { flashes: number[]; beeps: number[]; origin: number } };
  w.__marks = { flashes: [], beeps: [], origin: performance.timeOrigin };
  const watched = new Set<string>();
  const watchVideo = (track: MediaStreamTrack): void => {
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
      if (now && !bright && meta.captureTime !== undefined) w.__marks.flashes.push(meta.captureTime);
      bright = now;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    void video.play();
  };
  const watchAudio = (track: MediaStreamTrack): void => {
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
            if (quiet > 0.3 * value.sampleRate) w.__marks.beeps.push(value.timestamp / 1000 + (i / value.sampleRate) * 1000);
            quiet = 0;
          } else quiet++;
        }
        value.close();
      }
    };
    void read();
  };
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
    const stream = await gum(constraints);
    for (const track of stream.getTracks()) {
      // The first camera and the first microphone: the ones a day's page keeps sending.
      if (watched.has(track.kind)) continue;
      watched.add(track.kind);
      if (track.kind === 'video') watchVideo(track);
      else watchAudio(track);
    }
    return stream;
  };
};

/** Wall-clock times (ms) of the sender's captured marks. */
export async function senderMarks(page: import('playwright-core').Page): Promise<{ flashes: number[]; beeps: number[] }> {
  const marks = await page.evaluate(() => (window as unknown as { __marks: { flashes: number[]; beeps: number[]; origin: number } }).__marks);
  return { flashes: marks.flashes.map((t) => t + marks.origin), beeps: marks.beeps.map((t) => t + marks.origin) };
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
