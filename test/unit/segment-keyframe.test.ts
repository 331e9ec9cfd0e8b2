// A segment's picture begins at a camera keyframe, and the one it asks for as it starts may never
// come (seen on a loaded machine: one request, no keyframe, a whole scenario recorded without
// picture). The segment keeps asking until its picture has begun, and then stops asking.
// Real ffmpeg; the tap is a stand-in that records what it is asked for.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { ParticipantTap, TapFrame } from '../../media/recording/media-tap.ts';
import { SegmentRecorder } from '../../media/recording/segment-recorder.ts';
import { createLogger } from '../../server/log.ts';
import { pollUntil } from '../helpers/browser.ts';

class StandInTap extends EventEmitter {
  readonly requests: Array<{ at: number; force: boolean }> = [];
  readonly tracks = new Map(
    (['video', 'audio'] as const).map((kind) => [kind, { recent: [] as TapFrame[], hasReport: true, senderMsOf: () => null, size: null, stats: {}, awaitingKeyframe: false }]),
  );
  requestKeyframe(force = true): void {
    this.requests.push({ at: Date.now(), force });
  }
}

let recorder: SegmentRecorder | undefined;
let feeding: NodeJS.Timeout | undefined;
afterEach(async () => {
  clearInterval(feeding);
  await recorder?.stop();
});

it('asks for a keyframe again until the picture begins, then no more', async () => {
  const tap = new StandInTap();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-keyframe-')), 'segment.webm');
  const startedAt = Date.now();
  recorder = SegmentRecorder.start(tap as unknown as ParticipantTap, file, startedAt, createLogger('silent'));
  let keyframeNext = false;
  let rtpMs = 0;
  // The camera sends only delta frames (its keyframe was never sent), the microphone talks.
  feeding = setInterval(() => {
    rtpMs += 40;
    const arrivalMs = Date.now();
    tap.emit('frame', { kind: 'audio', keyframe: true, data: Buffer.alloc(60, 1), rtpMs, arrivalMs } satisfies TapFrame);
    const keyframe = keyframeNext;
    keyframeNext = false;
    tap.emit('frame', {
      kind: 'video',
      keyframe,
      data: Buffer.alloc(200, 2),
      rtpMs,
      arrivalMs,
      ...(keyframe ? { width: 320, height: 240 } : {}),
    } satisfies TapFrame);
  }, 40);

  // The first request comes with the start; later ones keep coming while there is no picture.
  expect(tap.requests[0]?.force).toBe(true);
  await pollUntil('a request made 2 s after the start, still without picture', 20_000, async () => tap.requests.some((r) => r.at - startedAt >= 2000 && !r.force));

  keyframeNext = true;
  await pollUntil('the keyframe taken', 5000, async () => !keyframeNext);
  const asked = tap.requests.length;
  const after = Date.now();
  await pollUntil('half a second of frames after the keyframe', 10_000, async () => Date.now() - after >= 500);
  expect(tap.requests.length).toBe(asked);
});
