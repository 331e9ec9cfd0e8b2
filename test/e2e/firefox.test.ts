// The live call, the device check and the written exercise in Debian's firefox-esr, beside
// Chromium: a Firefox candidate passes the device check, sees and hears a Chromium actor and
// is seen and heard by them (frames advancing on both sides), then writes the written
// exercise, whose text the database holds and the server freezes.
//
// Firefox's WebRTC needs a non-loopback address, so the day runs in a network namespace of its
// own (test/helpers/firefox.ts): test/e2e/firefox-day.ts drives it there and prints what
// happened; this file asserts on it. Needs root (as CI has), firefox-esr, unshare and ip.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runInMediaNamespace } from '../helpers/firefox.ts';
import type { FirefoxDayResult, VideoSample } from './firefox-day.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARK = 'FIREFOX_DAY ';

function expectPlaying(seen: { first: VideoSample; later: VideoSample } | null): void {
  expect(seen).not.toBeNull();
  const { first, later } = seen!;
  expect(first.videoWidth).toBeGreaterThan(0);
  expect(first.videoHeight).toBeGreaterThan(0);
  expect(later.framesDecoded).toBeGreaterThan(first.framesDecoded);
  expect(later.currentTime).toBeGreaterThan(first.currentTime);
  expect(later.audioBytes).toBeGreaterThan(first.audioBytes);
  expect(later.audioPlaying).toBe(true);
}

it('Firefox candidate: device check, live call with a Chromium actor, written exercise stored', async () => {
  const run = await runInMediaNamespace([process.execPath, 'test/e2e/firefox-day.ts'], { cwd: ROOT, timeoutMs: 240_000 });
  const line = run.stdout.split('\n').find((l) => l.startsWith(MARK));
  if (!line) {
    throw new Error(`the Firefox day printed no result (exit ${run.code ?? run.signal}):\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-4000)}`);
  }
  const result = JSON.parse(line.slice(MARK.length)) as FirefoxDayResult;
  expect(result.error, `steps reached:\n${result.steps.join('\n')}`).toBeNull();
  expect(result.firefoxVersion).toMatch(/^\d+\./);

  // The device check showed the camera and a moving microphone level, and no problem.
  expect(result.deviceCheck).not.toBeNull();
  expect(result.deviceCheck!.previewWidth).toBeGreaterThan(0);
  expect(result.deviceCheck!.micLevel).toBeGreaterThan(0);
  expect(result.deviceCheck!.problemShown).toBe(false);

  // Each decodes the other's video, frames advancing, and hears them.
  expectPlaying(result.candidateSeesActor);
  expectPlaying(result.actorSeesCandidate);

  // What Firefox typed is in the database, saved, kept on the device too, and frozen as submitted.
  const written = result.written!;
  expect(written).not.toBeNull();
  expect(written.storedText).toContain(written.typed);
  expect(written.pageSaveState).toBe('saved');
  expect(written.noLocalCopyWarning).toBe(false);
  expect(written.frozenText).toBe(written.storedText);

  expect(result.pageErrors).toEqual({ firefox: [], chromium: [] });
  expect(run.code).toBe(0);
}, 270_000);
