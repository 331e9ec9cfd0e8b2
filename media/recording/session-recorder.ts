// Records one phase (a scenario or the reflective conversation) of one room: a segment per
// on-stage participant, following their producers as they come and go (every stage change
// and reconnect replaces them). A segment whose ffmpeg dies is replaced at once by a new one,
// and the state everyone sees says so.
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from '../../server/log.ts';
import type { Room } from '../room.ts';
import { SegmentRecorder } from './segment-recorder.ts';

export type RecorderState = 'recording' | 'restarting' | 'failed' | 'stopped';

/** Where segments go and what is known about them; implemented over the database. */
export interface SegmentSink {
  /** A new segment begins: returns its id and absolute file path. */
  begin(participantId: string, segment: number): { id: string; file: string };
  /** The segment ended (finalised, or interrupted when ffmpeg died). */
  end(id: string, outcome: 'complete' | 'interrupted'): Promise<void>;
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

/** A new segment is tried this soon after a failure. */
const RESTART_DELAY_MS = 500;
/** How long a camera waits for its microphone before recording alone. */
const AUDIO_WAIT_MS = 1500;

export class SessionRecorder extends EventEmitter<SessionRecorderEvents> {
  private readonly room: Room;
  private readonly sink: SegmentSink;
  private readonly log: Logger;
  private readonly live = new Map<string, Live>();
  private readonly segments = new Map<string, number>();
  private readonly starting = new Set<string>();
  private readonly waitedForAudio = new Set<string>();
  private stopped = false;
  private stateNow: RecorderState = 'recording';

  constructor(room: Room, sink: SegmentSink, log: Logger) {
    super();
    this.room = room;
    this.sink = sink;
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

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.room.off('producerAdded', this.onProducer);
    this.room.off('rebuilt', this.onRebuilt);
    await Promise.all([...this.live.values()].map((l) => this.finish(l, 'complete')));
    this.setState('stopped', 'recording stopped');
  }

  private onProducer(participantId: string): void {
    if (this.room.currentStage.has(participantId)) void this.follow(participantId);
  }

  /** The worker died: every segment lost its input. End them; clients rejoin and produce again. */
  private onRebuilt(): void {
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
    const wanted = new Set([video.id, ...(audio ? [audio.id] : [])]);
    if (current && [...wanted].every((id) => current.producerIds.has(id))) return;
    this.starting.add(participantId);
    try {
      if (current) await this.finish(current, 'complete');
      await this.startSegment(participantId, video, audio);
    } finally {
      this.starting.delete(participantId);
    }
    // The microphone may have arrived while the camera's segment was starting.
    const latest = this.room.producersOf(participantId);
    if (latest.get('microphone') && !this.live.get(participantId)?.producerIds.has(latest.get('microphone')!.id)) {
      void this.follow(participantId);
    }
  }

  private async startSegment(participantId: string, video: types.Producer, audio: types.Producer | undefined): Promise<void> {
    if (this.stopped) return;
    const segment = (this.segments.get(participantId) ?? 0) + 1;
    this.segments.set(participantId, segment);
    const { id, file } = this.sink.begin(participantId, segment);
    try {
      const recorder = await SegmentRecorder.start(this.room.mediaRouter, { video, audio }, file, this.log);
      if (this.stopped) {
        // Stopped while this segment was starting: end it at once, leave nothing running.
        await recorder.stop();
        await this.sink.end(id, 'complete');
        return;
      }
      const live: Live = { participantId, id, recorder, producerIds: new Set([video.id, ...(audio ? [audio.id] : [])]) };
      this.live.set(participantId, live);
      recorder.once('failed', (reason) => void this.onSegmentFailed(live, reason));
      video.observer.once('close', () => void this.onProducerGone(live));
      audio?.observer.once('close', () => void this.onProducerGone(live));
      this.log.info({ participantId, segment, file: path.basename(file) }, 'recording segment started');
      this.setState('recording', `recording ${this.live.size} participant(s)`);
    } catch (error) {
      await this.sink.end(id, 'interrupted');
      if (this.stopped) return;
      this.log.error({ participantId, err: (error as Error).message }, 'recording segment could not start');
      this.setState('failed', `recorder could not start: ${(error as Error).message}`);
      this.retryLater(participantId);
    }
  }

  private async onSegmentFailed(live: Live, reason: string): Promise<void> {
    if (this.live.get(live.participantId) !== live) return;
    this.live.delete(live.participantId);
    await this.sink.end(live.id, 'interrupted');
    this.setState('restarting', `recorder failed (${reason}); restarting`);
    this.retryLater(live.participantId);
  }

  /** A producer went (reconnect, stage change): finish the segment; a new one follows the new producer. */
  private async onProducerGone(live: Live): Promise<void> {
    if (this.live.get(live.participantId) !== live) return;
    await this.finish(live, 'complete');
  }

  private retryLater(participantId: string): void {
    setTimeout(() => void this.follow(participantId), RESTART_DELAY_MS).unref();
  }

  private async finish(live: Live, outcome: 'complete' | 'interrupted'): Promise<void> {
    if (this.live.get(live.participantId) === live) this.live.delete(live.participantId);
    await live.recorder.stop();
    await this.sink.end(live.id, outcome);
  }

  private setState(state: RecorderState, detail: string): void {
    if (state === this.stateNow && state === 'recording') return;
    this.stateNow = state;
    this.emit('state', state, detail);
  }
}
