// A segment's declared frame timing (server/recording/webm-repair.ts): a camera's variable
// frame rate, written with the rate ffmpeg guessed (DefaultDuration 50 ms), makes the literal
// `ffmpeg -v error -xerror -i seg -f null -` complain; once declared, it decodes without a
// word, and nothing but the DefaultDuration's bytes changed. Fixtures are made here by ffmpeg
// with the timing a camera catching up produces (two frames 10 ms apart, then a 90 ms gap).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { declareFrameTiming, remux, setVideoDefaultDuration } from '../../server/recording/webm-repair.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-webm-timing-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A 3 s VP8 + Opus WebM; `videoArgs` choose how the video track's frame rate is written. */
function fixture(name: string, videoArgs: string[], audio = true, video = true): string {
  const file = path.join(dir, name);
  const run = spawnSync('ffmpeg', [
    '-v', 'error', '-nostdin',
    ...(video ? ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=20'] : []),
    ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    '-t', '3',
    ...(video ? ['-vf', 'settb=1/1000,setpts=(N*50-40*eq(mod(N\\,4)\\,1))/1000/TB', '-c:v', 'libvpx', '-enc_time_base:v', '1:1000', ...videoArgs] : []),
    ...(audio ? ['-c:a', 'libopus'] : []),
    '-f', 'webm', '-y', file,
  ], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  return file;
}

/** What the literal command says: exit status and stderr. */
function literal(file: string): string {
  const run = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${run.status} ${run.stderr.trim()}`;
}

function packets(file: string): string {
  return spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts,dts,size,flags', '-of', 'csv=p=0', file], { encoding: 'utf8' }).stdout;
}

function rates(file: string): string {
  return spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate,avg_frame_rate', '-of', 'csv=p=0', file], { encoding: 'utf8' }).stdout.trim();
}

it('declares a millisecond grid in place: the literal decode is silent, and only the DefaultDuration changed', async () => {
  const file = fixture('camera.webm', ['-fps_mode', 'passthrough']);
  const before = fs.readFileSync(file);
  const packetsBefore = packets(file);
  // The fixture has the defect: a guessed 20 fps, and frames closer than 50 ms.
  expect(rates(file)).toBe('20/1,20/1');
  expect(literal(file)).toMatch(/non monotonically increasing dts/);

  expect(await declareFrameTiming(file)).toBe(true);
  const after = fs.readFileSync(file);
  expect(after.length).toBe(before.length);
  const changed = [...after.keys()].filter((i) => after[i] !== before[i]);
  // 50,000,000 ns (02 FA F0 80) became 1,000,033 ns (00 0F 42 61), in the same four bytes.
  expect(changed.length).toBeGreaterThan(0);
  expect(Math.max(...changed) - Math.min(...changed)).toBeLessThan(4);
  expect(after.subarray(Math.max(...changed) - 3, Math.max(...changed) + 1).toString('hex')).toBe('000f4261');
  expect(packets(file)).toBe(packetsBefore);
  expect(rates(file)).toBe('29999/30,29999/30');
  expect(literal(file)).toBe('0 ');

  // A cut segment is remuxed before its timing is declared; a later copy keeps it too.
  await remux(file);
  expect(rates(file)).toBe('29999/30,29999/30');
  expect(literal(file)).toBe('0 ');
  // Declaring again changes nothing.
  const settled = fs.readFileSync(file);
  expect(await declareFrameTiming(file)).toBe(true);
  expect(fs.readFileSync(file).equals(settled)).toBe(true);
});

it('gives a video track written without any frame rate one through a copy-remux', async () => {
  // Declared at 1000 fps, which ffmpeg's WebM writer does not store: no DefaultDuration.
  // Video only: a copy-remux of this fixture's encoded Opus (with an encoder delay, unlike the
  // Opus a recorder copies from RTP) would shift the video's timestamps.
  const file = fixture('no-rate.webm', ['-r', '1000', '-fps_mode', 'vfr'], false);
  expect(setVideoDefaultDuration(file, 1_000_033)).toEqual({ tracks: true, videoTracks: 1, set: 0 });
  expect(literal(file)).toMatch(/non monotonically increasing dts/);
  const packetsBefore = packets(file);

  expect(await declareFrameTiming(file)).toBe(true);
  expect(packets(file)).toBe(packetsBefore);
  expect(rates(file)).toBe('29999/30,29999/30');
  expect(literal(file)).toBe('0 ');
});

it('leaves a file without video, or one it cannot read, as it was', async () => {
  const audioOnly = fixture('audio.webm', [], true, false);
  const audioBytes = fs.readFileSync(audioOnly);
  expect(setVideoDefaultDuration(audioOnly, 1_000_033)).toEqual({ tracks: true, videoTracks: 0, set: 0 });
  expect(await declareFrameTiming(audioOnly)).toBe(true);
  expect(fs.readFileSync(audioOnly).equals(audioBytes)).toBe(true);

  const garbage = path.join(dir, 'garbage.webm');
  fs.writeFileSync(garbage, 'not a webm at all');
  expect(await declareFrameTiming(garbage)).toBe(false);
  expect(fs.readFileSync(garbage, 'utf8')).toBe('not a webm at all');
  expect(fs.existsSync(`${garbage}.remux.webm`)).toBe(false);
});
