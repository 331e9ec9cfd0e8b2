// Records one phase (a scenario or the reflective conversation) of one room: a segment per
// on-stage participant, following their producers as they come and go (every stage change
// and reconnect replaces them). The first segment of each participant begins at the phase
// start (the room's taps hold the seconds before the recorder got going); a segment whose
// ffmpeg dies is replaced at once by its hot standby, and the state everyone sees says so.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from '../../server/log.ts';
import type { Room } from '../room.ts';
import type { ParticipantTap } from './media-tap.ts';
import type { RoomTaps } from './room-taps.ts';
import { SegmentRecorder, type Timing } from './segment-recorder.ts';

export type RecorderState = 'recording' | 'restarting' | 'failed' | 'stopped';

/** Where a segment lies in time, as it began. */
export interface SegmentTiming {
  /** Server time of the file's zero. */
  mediaSince: number;
  /** The sender's wall-clock time of the file's zero, from its RTCP sender reports (null: none). */
  senderSince: number | null;
  timing: Timing;
}

/** Where segments go and what is known about them; implemented over the database. */
export interface SegmentSink {
  /** A fresh id and absolute file path for a segment (nothing is stored yet). */
  reserve(): { id: string; file: string };
  /** How many segments of this phase the participant has stored already (by an earlier run,
   *  or another studio node before this one took the session over). */
  storedSegments(participantId: string): number;
  /** The segment's recorder runs: its row is stored (one for every segment that ran), with
   *  the zero it was asked for (its timing is not known yet). */
  begin(reserved: { id: string; file: string }, participantId: string, segment: number, fromMs: number): void;
  /** The segment's timeline is decided: where its zero lies, and how its frames are timed. */
  timed(id: string, timing: SegmentTiming): void;
  /** The segment ended (finalised, or interrupted when ffmpeg died). */
  end(id: string, outcome: 'complete' | 'interrupted'): Promise<void>;
}

/** A participant's hot standby: a second recorder of the same tap and timeline, already writing. */
interface Spare {
  reserved: { id: string; file: string };
  producerIds: string[];
  recorder: SegmentRecorder;
}

interface Live {
  participantId: string;
  id: string;
  recorder: SegmentRecorder;
  producerIds: Set<string>;
}

interface SessionRecorderEvents {
  state: [state: RecorderState, detail: string];
}

/** A segment that could not start is tried again this soon. */
const RESTART_DELAY_MS = 500;
/** A segment that dies sooner than this after its start counts towards a crash loop. */
const QUICK_FAILURE_MS = 1000;
/** How long a camera waits for its microphone before recording alone. */
const AUDIO_WAIT_MS = 1500;

export class SessionRecorder extends EventEmitter<SessionRecorderEvents> {
  private readonly room: Room;
  private readonly taps: RoomTaps;
  private readonly sink: SegmentSink;
  private readonly log: Logger;
  /** Server time the phase began: every participant's first segment starts there. */
  private readonly phaseStartedAt: number;
  private readonly live = new Map<string, Live>();
  private readonly segments = new Map<string, number>();
  private readonly starting = new Set<string>();
  private readonly waitedForAudio = new Set<string>();
  private readonly quickFailures = new Map<string, number>();
  /** A hot standby per recorded participant, so that a killed recorder loses nothing. */
  private readonly spares = new Map<string, Spare>();
  private stopped = false;
  private stateNow: RecorderState = 'recording';
  /** Participants whose live segment has had no picture for a while (sound only). */
  private readonly withoutPicture = new Set<string>();

  constructor(room: Room, taps: RoomTaps, sink: SegmentSink, log: Logger, phaseStartedAt = Date.now()) {
    super();
    this.room = room;
    this.taps = taps;
    this.sink = sink;
    this.phaseStartedAt = phaseStartedAt;
    this.log = log.child({ module: 'recorder', sessionId: room.sessionId });
    this.onProducer = this.onProducer.bind(this);
    this.onRebuilt = this.onRebuilt.bind(this);
    room.on('producerAdded', this.onProducer);
    room.on('rebuilt', this.onRebuilt);
    for (const participantId of room.currentStage) void this.follow(participantId);
  }

  get state(): RecorderState {
    return this.stateNow;
  }

  /** ffmpeg process ids of the running segments (tests, hygiene checks). */
  get pids(): number[] {
    return [...this.live.values()].flatMap((l) => (l.recorder.pid ? [l.recorder.pid] : []));
  }

  /** Ends every segment at `cutMs` (server clock: the phase's end). */
  async stop(cutMs = Date.now()): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.room.off('producerAdded', this.onProducer);
    this.room.off('rebuilt', this.onRebuilt);
    const spares = [...this.spares.values()];
    this.spares.clear();
    await Promise.all([...spares.map((spare) => dropSpare(spare)), ...[...this.live.values()].map((l) => this.finish(l, 'complete', cutMs))]);
    this.setState('stopped', 'recording stopped');
  }

  private onProducer(participantId: string): void {
    if (this.room.currentStage.has(participantId)) void this.follow(participantId);
  }

  /** The worker died: every segment lost its input. End them; clients rejoin and produce again. */
  private onRebuilt(): void {
    for (const spare of this.spares.values()) void dropSpare(spare);
    this.spares.clear();
    for (const l of this.live.values()) void this.finish(l, 'interrupted');
    this.setState('restarting', 'media server restarted; recording resumes when people reconnect');
  }

  /** (Re)starts the participant's segment when their camera (and microphone) are live. */
  private async follow(participantId: string): Promise<void> {
    if (this.stopped || this.starting.has(participantId)) return;
    const producers = this.room.producersOf(participantId);
    const video = producers.get('camera');
    const audio = producers.get('microphone');
    if (!video) return;
    // The microphone usually follows the camera within moments: wait for it rather than
    // start a video-only segment that would be replaced at once.
    if (!audio && !this.waitedForAudio.has(participantId)) {
      this.waitedForAudio.add(participantId);
      setTimeout(() => void this.follow(participantId), AUDIO_WAIT_MS).unref();
      return;
    }
    const current = this.live.get(participantId);
    const wanted = [video.id, ...(audio ? [audio.id] : [])];
    if (current && wanted.every((id) => current.producerIds.has(id))) return;
    this.starting.add(participantId);
    try {
      if (current) await this.finish(current, 'complete');
      await this.startSegment(participantId, wanted);
    } finally {
      this.starting.delete(participantId);
    }
    // The microphone may have arrived while the camera's segment was starting.
    const latest = this.room.producersOf(participantId);
    if (latest.get('microphone') && !this.live.get(participantId)?.producerIds.has(latest.get('microphone')!.id)) {
      void this.follow(participantId);
    }
  }

  private async startSegment(participantId: string, producerIds: string[]): Promise<void> {
    if (this.stopped) return;
    const segment = (this.segments.get(participantId) ?? this.sink.storedSegments(participantId)) + 1;
    this.segments.set(participantId, segment);
    // The hot standby already records these producers: it becomes the segment, and the media
    // it holds from before the failure covers what the failed recorder lost.
    const spare = this.spares.get(participantId);
    this.spares.delete(participantId);
    let recorder: SegmentRecorder | null = null;
    let reserved = spare?.reserved;
    if (spare && spare.producerIds.join() === producerIds.join() && spare.recorder.running) recorder = spare.recorder;
    else if (spare) void dropSpare(spare);
    let tap: ParticipantTap | null = null;
    let begun = false;
    try {
      tap = await this.taps.tapOf(participantId);
      if (!tap || !tap.taps(producerIds)) throw new Error('the participant’s media is not tapped yet');
      // A participant's first segment of the phase begins at the phase start.
      const from = segment === 1 ? this.phaseStartedAt : Date.now();
      if (!recorder) {
        reserved = this.sink.reserve();
        recorder = SegmentRecorder.start(tap, reserved.file, from, this.log);
      }
      const started = recorder;
      const timed = (): void => this.sink.timed(reserved!.id, { mediaSince: started.mediaSince, senderSince: started.senderSince, timing: started.timing });
      if (this.stopped) {
        // Stopped while this segment was starting: end it at once, leave nothing running.
        await recorder.stop();
        this.sink.begin(reserved!, participantId, segment, from);
        timed();
        await this.sink.end(reserved!.id, 'complete');
        return;
      }
      this.sink.begin(reserved!, participantId, segment, from);
      begun = true;
      const live: Live = { participantId, id: reserved!.id, recorder, producerIds: new Set(producerIds) };
      this.live.set(participantId, live);
      recorder.once('failed', (reason) => this.onSegmentFailed(live, reason));
      recorder.on('pictureMissing', () => this.pictureOf(live, false));
      recorder.on('pictureStarted', () => this.pictureOf(live, true));
      // A standby taking over may have said so already, before anyone listened.
      if (recorder.pictureMissing) this.pictureOf(live, false);
      for (const id of producerIds) this.producerById(participantId, id)?.observer.once('close', () => void this.onProducerGone(live));
      this.log.info({ participantId, segment, file: path.basename(reserved!.file) }, 'recording segment started');
      this.settle();
      // Its timeline is decided once sender reports time every track (or after a wait); the
      // standby then starts on the same timeline.
      const ready = tap;
      void recorder.ready.then(() => {
        timed();
        this.log.info({ participantId, segment, timing: started.timing, startsMsAfterPhase: started.mediaSince - this.phaseStartedAt }, 'recording segment timed');
        if (this.live.get(participantId) === live) this.prepareSpare(participantId, ready, live);
      });
    } catch (error) {
      // A recorder whose row could not be stored must not run on unlisted (its file is nobody's).
      if (recorder && !begun && reserved) {
        const file = reserved.file;
        void recorder.stop().finally(() => fs.rmSync(file, { force: true }));
      }
      if (this.stopped) return;
      this.log.error({ participantId, err: (error as Error).message }, 'recording segment could not start');
      this.setState('failed', `recorder could not start: ${(error as Error).message}`);
      this.retryLater(participantId);
    }
  }

  private producerById(participantId: string, id: string): types.Producer | undefined {
    return [...this.room.producersOf(participantId).values()].find((p) => p.id === id);
  }

  /**
   * Starts the participant's hot standby: a second recorder of the same tap, on the same
   * timeline. It costs a second ffmpeg (copying, a fraction of a percent of a core) and a file
   * that is deleted unless it is needed; when the live recorder dies, the standby has every
   * second of it.
   */
  private prepareSpare(participantId: string, tap: ParticipantTap, live: Live): void {
    if (this.stopped || this.spares.has(participantId)) return;
    const reserved = this.sink.reserve();
    let recorder: SegmentRecorder;
    try {
      recorder = SegmentRecorder.start(tap, reserved.file, live.recorder.mediaSince, this.log.child({ standby: true }));
    } catch (error) {
      this.log.warn({ participantId, err: (error as Error).message }, 'standby recorder could not start');
      return;
    }
    const spare: Spare = { reserved, producerIds: [...live.producerIds], recorder };
    this.spares.set(participantId, spare);
    recorder.once('failed', () => {
      // The standby itself died: nothing of it is kept; a new one is made.
      if (this.spares.get(participantId) !== spare) return;
      this.spares.delete(participantId);
      void dropSpare(spare);
      const current = this.live.get(participantId);
      if (current) this.prepareSpare(participantId, tap, current);
    });
  }

  /**
   * A segment recording sound only counts as an interruption: the lead observer's page starts
   * its backup recording (and the server accepts it) until every picture is back.
   */
  private pictureOf(live: Live, present: boolean): void {
    if (this.stopped) return;
    const current = this.live.get(live.participantId) === live;
    if (present || !current) this.withoutPicture.delete(live.participantId);
    else this.withoutPicture.add(live.participantId);
    if (this.stateNow !== 'restarting' || [...this.live.values()].every((l) => l.recorder.running)) this.settle();
  }

  /** Recording, or — while a live segment has no picture — interrupted, naming whose camera. */
  private settle(): void {
    if (this.withoutPicture.size > 0) {
      const who = [...this.withoutPicture].map((id) => this.room.peerInfo(id)?.displayName ?? 'a participant').join(', ');
      this.setState('restarting', `no picture from the camera of ${who}: recording sound only; the backup recording runs until it is back`);
    } else {
      this.setState('recording', `recording ${this.live.size} participant(s)`);
    }
  }

  private onSegmentFailed(live: Live, reason: string): void {
    if (this.live.get(live.participantId) !== live) return;
    this.withoutPicture.delete(live.participantId);
    this.live.delete(live.participantId);
    this.setState('restarting', `recorder failed (${reason}); restarting`);
    // The replacement starts first: its start-up is the gap in the recording, while the cut
    // file's repair (remux, hash, duration) can take its time. Only a recorder that keeps
    // dying at once (a crash loop) is restarted with a growing delay.
    const quick = Date.now() - live.recorder.startedAt < QUICK_FAILURE_MS ? (this.quickFailures.get(live.participantId) ?? 0) + 1 : 0;
    this.quickFailures.set(live.participantId, quick);
    if (quick < 2) void this.follow(live.participantId);
    else this.retryLater(live.participantId, Math.min(RESTART_DELAY_MS * 2 ** (quick - 2), 5000));
    void live.recorder.stop().then(() => this.sink.end(live.id, 'interrupted'));
  }

  /** A producer went (reconnect, stage change): finish the segment; a new one follows the new producer. */
  private async onProducerGone(live: Live): Promise<void> {
    if (this.live.get(live.participantId) !== live) return;
    await this.finish(live, 'complete');
  }

  private retryLater(participantId: string, delayMs = RESTART_DELAY_MS): void {
    setTimeout(() => void this.follow(participantId), delayMs).unref();
  }

  private async finish(live: Live, outcome: 'complete' | 'interrupted', cutMs?: number): Promise<void> {
    if (this.live.get(live.participantId) === live) {
      this.live.delete(live.participantId);
      this.withoutPicture.delete(live.participantId);
    }
    await live.recorder.stop(cutMs);
    await this.sink.end(live.id, outcome);
  }

  private setState(state: RecorderState, detail: string): void {
    if (state === this.stateNow && state === 'recording') return;
    this.stateNow = state;
    this.emit('state', state, detail);
  }
}

/** Ends a standby that is not needed and deletes what it wrote (the live segment has it all). */
async function dropSpare(spare: Spare): Promise<void> {
  await spare.recorder.stop();
  fs.rmSync(spare.reserved.file, { force: true });
}
