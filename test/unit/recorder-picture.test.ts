// A scenario recorded with sound only is an interrupted recording: when a camera gives no keyframe
// for 10 s, the session's recorder says so (naming whose camera), which starts the lead
// observer's backup recording and lets the server take it; once the picture begins, it records
// again. Real SegmentRecorders and ffmpeg; the room and the tap are stand-ins, time is faked.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import type { Room } from '../../media/room.ts';
import type { ParticipantTap, TapFrame } from '../../media/recording/media-tap.ts';
import type { RoomTaps } from '../../media/recording/room-taps.ts';
import { SessionRecorder, type RecorderState } from '../../media/recording/session-recorder.ts';
import { createLogger } from '../../server/log.ts';

class StandInTap extends EventEmitter {
  readonly tracks = new Map(
    (['video', 'audio'] as const).map((kind) => [kind, { recent: [] as TapFrame[], hasReport: true, senderMsOf: () => null, size: null, stats: {}, awaitingKeyframe: false, producerId: kind }]),
  );
  requestKeyframe(): void {}
  taps(): boolean {
    return true;
  }
}

let recorder: SessionRecorder | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await recorder?.stop();
});

it('says the recording is interrupted while a camera gives no picture, naming whose, and records again once it does', async () => {
  vi.useFakeTimers({ toFake: ['setInterval', 'setTimeout', 'Date'] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-picture-'));
  const tap = new StandInTap();
  const producer = (id: string, kind: string) => ({ id, kind, closed: false, observer: new EventEmitter() });
  const room = Object.assign(new EventEmitter(), {
    sessionId: 'session-1',
    currentStage: new Set(['casey']),
    producersOf: () => new Map([['camera', producer('video', 'video')], ['microphone', producer('audio', 'audio')]]),
    peerInfo: () => ({ participantId: 'casey', displayName: 'Casey Candidate', role: 'candidate' }),
  });
  const taps = { tapOf: async () => tap };
  let n = 0;
  const sink = {
    reserve: () => ({ id: `segment-${++n}`, file: path.join(dir, `segment-${n}.webm`) }),
    storedSegments: () => 0,
    begin: () => undefined,
    timed: () => undefined,
    end: async () => undefined,
  };
  const states: Array<{ state: RecorderState; detail: string }> = [];
  recorder = new SessionRecorder(room as unknown as Room, taps as unknown as RoomTaps, sink, createLogger('silent'));
  recorder.on('state', (state, detail) => states.push({ state, detail }));
  await vi.waitFor(() => expect(n).toBeGreaterThanOrEqual(1));

  let rtpMs = 0;
  const frames = (seconds: number, keyframeFirst = false): void => {
    for (let i = 0; i < seconds * 25; i++) {
      rtpMs += 40;
      const arrivalMs = Date.now();
      tap.emit('frame', { kind: 'audio', keyframe: true, data: Buffer.alloc(60, 1), rtpMs, arrivalMs } satisfies TapFrame);
      const keyframe = keyframeFirst && i === 0;
      tap.emit('frame', { kind: 'video', keyframe, data: Buffer.alloc(200, 2), rtpMs, arrivalMs, ...(keyframe ? { width: 320, height: 240 } : {}) } satisfies TapFrame);
      vi.advanceTimersByTime(40);
    }
  };
  // Nine seconds without a keyframe: still recording.
  frames(9);
  expect(states.filter((s) => s.state === 'restarting')).toEqual([]);
  // Past ten: interrupted, and whose camera it is.
  frames(2);
  expect(states.at(-1)).toEqual({ state: 'restarting', detail: expect.stringContaining('no picture from the camera of Casey Candidate') });
  // The picture begins: recording again.
  frames(1, true);
  expect(states.at(-1)?.state).toBe('recording');
});
