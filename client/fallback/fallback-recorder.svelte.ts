// The lead observer's backup recording. When the server's recorder reports a problem
// ('failed' or 'restarting') during a scenario or the reflective conversation, the lead
// observer's page records what it receives of the people on stage with MediaRecorder
// (WebM, VP8 + Opus: the first video track, candidate first, and the sound of everyone on
// stage, mixed with WebAudio when there is more than one voice) and sends it to the server
// in 2-second chunks:
//
//   POST /api/sessions/<sessionId>/fallback-recording?participantId=<me>&phaseIndex=<n>&seq=<k>
//   body: the raw chunk (video/webm, at most 8 MB); seq counts 0, 1, 2, … per phase.
//   204: stored.  409 {error: {reason: 'OUT_OF_ORDER', expectedSeq}}: the server wants another
//   seq next. A final refusal (shared/recording-upload.ts: the day is over, the server was
//   recording when this run began, a size cap) drops the run's chunks; others are retried.
//
// Chunks are sent one at a time, in order, and kept in memory until the server has them;
// failures are retried with backoff for as long as the page is open. Two extra headers tell
// the server where the chunk's stream begins on its clock: X-Fallback-Started-At (server
// epoch ms when this MediaRecorder run started) and X-Fallback-Run (1, 2, … within the phase;
// every run is a new WebM stream with its own header).
//
// The backup stops once the server has been recording again for 10 s, or when the phase ends.
import type { RecordingStatus } from '../../shared/protocol.ts';
import { FALLBACK_MAX_CHUNK_BYTES, FINAL_FALLBACK_REFUSALS, type FallbackRefusal } from '../../shared/recording-upload.ts';

export const TIMESLICE_MS = 2_000;
/** The server's recorder must be back this long before the backup stops. */
export const RECOVERED_MS = 10_000;
/** Largest body the server accepts; bigger chunks are sent as consecutive pieces. */
export const MAX_CHUNK_BYTES = FALLBACK_MAX_CHUNK_BYTES;
/** The tracks must stay the same this long before a recording starts or restarts with them. */
const TRACKS_SETTLE_MS = 1_000;
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const MIME_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm'];
const AUDIO_ONLY_MIME_TYPES = ['audio/webm;codecs=opus', 'audio/webm'];

export interface FallbackInput {
  sessionId: string | null;
  /** The running (or paused) phase if it is a scenario or the reflective conversation; else null. */
  phaseIndex: number | null;
  /** The server recorder's latest state (null: not heard yet). */
  recording: RecordingStatus | null;
  /** Video tracks of the people on stage, candidate first. */
  video: MediaStreamTrack[];
  /** Audio tracks of the people on stage. */
  audio: MediaStreamTrack[];
}

export interface Chunk {
  phaseIndex: number;
  seq: number;
  run: number;
  startedAt: number;
  blob: Blob;
  /** An attempt failed without an answer: the server may have stored it all the same. */
  maybeStored: boolean;
}

export type UploadResult =
  | { kind: 'ok' }
  | { kind: 'conflict'; expectedSeq: number }
  /** The server will never take this chunk (see FINAL_FALLBACK_REFUSALS). */
  | { kind: 'refused'; reason: FallbackRefusal; message: string }
  | { kind: 'retry'; message: string };

export type Uploader = (sessionId: string, chunk: Chunk) => Promise<UploadResult>;

/** Whether a backup recording should be running now. Pure: see the module comment. */
export function wantsBackup(input: FallbackInput, running: boolean, serverNow: number): boolean {
  const rec = input.recording;
  if (input.phaseIndex === null || !rec) return false;
  // A state about another phase says nothing about this one (the phase has just changed).
  if (rec.phaseIndex !== null && rec.phaseIndex !== input.phaseIndex) return false;
  if (rec.state === 'failed' || rec.state === 'restarting') return true;
  if (rec.state === 'recording') return running && serverNow - rec.since < RECOVERED_MS;
  return false;
}

/** Uploads one chunk with fetch (the participant's cookie goes along: same origin). */
export function httpUploader(participantId: string): Uploader {
  return async (sessionId, chunk) => {
    const url =
      `/api/sessions/${encodeURIComponent(sessionId)}/fallback-recording` +
      `?participantId=${encodeURIComponent(participantId)}&phaseIndex=${chunk.phaseIndex}&seq=${chunk.seq}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'content-type': 'video/webm',
          'x-fallback-started-at': String(Math.round(chunk.startedAt)),
          'x-fallback-run': String(chunk.run),
        },
        body: chunk.blob,
      });
    } catch {
      return { kind: 'retry', message: 'the server cannot be reached' };
    }
    if (response.ok) return { kind: 'ok' };
    const json = (await response.json().catch(() => null)) as unknown;
    // The schema (and zod with it) loads only when an upload is refused: the room's page does
    // without it until then (client/lib/zod-browser.ts).
    const schemas = await import('../../shared/recording-upload-schemas.ts').catch(() => null);
    const parsed = schemas?.FallbackUploadErrorSchema.safeParse(json);
    if (parsed?.success) {
      const { reason, message, expectedSeq } = parsed.data.error;
      if (reason === 'OUT_OF_ORDER' && expectedSeq !== undefined) return { kind: 'conflict', expectedSeq };
      if (FINAL_FALLBACK_REFUSALS.has(reason)) return { kind: 'refused', reason, message };
      return { kind: 'retry', message };
    }
    const message = (json as { error?: { message?: unknown } } | null)?.error?.message;
    return { kind: 'retry', message: typeof message === 'string' ? message : `the server answered ${response.status}` };
  };
}

interface Run {
  phaseIndex: number;
  number: number;
  startedAt: number;
  trackKey: string;
  recorder: MediaRecorder;
  audio: AudioContext | null;
  stopped: boolean;
}

export interface FallbackOptions {
  upload: Uploader;
  /** The server's clock (DayClock.serverNow). */
  serverNow: () => number;
}

export class FallbackRecorder {
  /** A backup recording is running now. */
  active = $state(false);
  /** A backup is wanted but there is nothing to record yet (nobody's media received). */
  waitingForMedia = $state(false);
  /** A backup has run at least once on this page. */
  used = $state(false);
  /** Chunks the server has acknowledged (all phases). */
  uploaded = $state(0);
  /** Chunks waiting to be sent, and their size. */
  pending = $state(0);
  pendingBytes = $state(0);
  /** The latest upload or recorder problem (cleared by the next success). */
  problem = $state<string | null>(null);
  /** This browser cannot record (no MediaRecorder or no WebM). */
  unsupported = $state(false);

  readonly #options: FallbackOptions;
  #input: FallbackInput = { sessionId: null, phaseIndex: null, recording: null, video: [], audio: [] };
  #run: Run | null = null;
  #queue: Chunk[] = [];
  #sessionId: string | null = null;
  /** The next seq and run number per phase. */
  #nextSeq = new Map<number, number>();
  #runs = new Map<number, number>();
  #pumping = false;
  #retryMs = RETRY_BASE_MS;
  #wake: (() => void) | null = null;
  #disposed = false;
  #timer: ReturnType<typeof setInterval>;
  /** The current track set and since when it has been the same (performance.now()). */
  #trackKey = '';
  #trackKeySince = 0;
  /** After a recorder error, no new run before this time (performance.now()). */
  #holdUntil = 0;

  constructor(options: FallbackOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#evaluate(), 1_000);
  }

  /** The page's latest view of the day, the recorder's state and the received tracks. */
  update(input: FallbackInput): void {
    if (this.#disposed) return;
    this.#input = input;
    if (input.sessionId) this.#sessionId = input.sessionId;
    const key = trackKeyOf(input);
    if (key !== this.#trackKey) {
      this.#trackKey = key;
      this.#trackKeySince = performance.now();
    }
    this.#evaluate();
  }

  /** Stops recording; chunks already made are still sent while the page stays open. */
  dispose(): void {
    if (this.#disposed) return;
    clearInterval(this.#timer);
    this.#stopRun();
    this.#disposed = true;
  }

  /** Chunks not yet acknowledged (for a "leave this page?" warning). */
  get unsent(): number {
    return this.pending;
  }

  // ---- recording ----

  #evaluate(): void {
    if (this.#disposed) return;
    const input = this.#input;
    const run = this.#run;
    const want = wantsBackup(input, run !== null, this.#options.serverNow());
    if (run && (!want || run.phaseIndex !== input.phaseIndex)) this.#stopRun();
    if (!want || input.phaseIndex === null || this.unsupported) {
      this.waitingForMedia = false;
      return;
    }
    const hasMedia = input.video.length > 0 || input.audio.length > 0;
    this.waitingForMedia = !hasMedia && this.#run === null;
    const settled = performance.now() - this.#trackKeySince >= TRACKS_SETTLE_MS;
    if (this.#run && this.#run.trackKey !== this.#trackKey && settled) {
      // Someone's camera or microphone changed (a rejoin): a recorder cannot swap tracks.
      this.#stopRun();
    }
    if (!this.#run && hasMedia && settled && performance.now() >= this.#holdUntil) {
      this.#startRun(input.phaseIndex, input);
    }
  }

  #startRun(phaseIndex: number, input: FallbackInput): void {
    if (typeof MediaRecorder === 'undefined') {
      this.unsupported = true;
      return;
    }
    const video = input.video.find((t) => t.readyState === 'live') ?? null;
    const voices = input.audio.filter((t) => t.readyState === 'live');
    if (!video && voices.length === 0) return;
    const mimeType = (video ? MIME_TYPES : AUDIO_ONLY_MIME_TYPES).find((m) => MediaRecorder.isTypeSupported(m));
    if (!mimeType) {
      this.unsupported = true;
      return;
    }

    const stream = new MediaStream();
    if (video) stream.addTrack(video);
    let audio: AudioContext | null = null;
    if (voices.length === 1) {
      stream.addTrack(voices[0]!);
    } else if (voices.length > 1) {
      // Several voices, one audio track: mix them. (The page also plays them in <audio>
      // elements, which Chrome needs before remote WebRTC audio reaches WebAudio.)
      audio = new AudioContext();
      const mix = audio.createMediaStreamDestination();
      for (const track of voices) audio.createMediaStreamSource(new MediaStream([track])).connect(mix);
      void audio.resume().catch(() => undefined);
      const mixed = mix.stream.getAudioTracks()[0];
      if (mixed) stream.addTrack(mixed);
    }

    let recorder: MediaRecorder;
    try {
      recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: 1_000_000, audioBitsPerSecond: 64_000 });
    } catch (error) {
      void audio?.close().catch(() => undefined);
      this.problem = `The backup recording could not start: ${error instanceof Error ? error.message : String(error)}`;
      this.#holdUntil = performance.now() + 5_000;
      return;
    }
    const number = (this.#runs.get(phaseIndex) ?? 0) + 1;
    this.#runs.set(phaseIndex, number);
    const run: Run = {
      phaseIndex,
      number,
      startedAt: this.#options.serverNow(),
      trackKey: this.#trackKey,
      recorder,
      audio,
      stopped: false,
    };
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data.size > 0) this.#enqueue(run, event.data);
    });
    recorder.addEventListener('error', (event) => {
      const error = (event as Event & { error?: DOMException }).error;
      this.problem = `The backup recording stopped with an error${error?.message ? `: ${error.message}` : ''}. Trying again…`;
      this.#holdUntil = performance.now() + 2_000;
      if (this.#run === run) this.#stopRun();
    });
    recorder.addEventListener('stop', () => {
      void run.audio?.close().catch(() => undefined);
      // The recorder stopped by itself (every track ended): let the next evaluation decide.
      if (this.#run === run) {
        this.#run = null;
        this.active = false;
      }
    });
    try {
      recorder.start(TIMESLICE_MS);
    } catch (error) {
      void audio?.close().catch(() => undefined);
      this.problem = `The backup recording could not start: ${error instanceof Error ? error.message : String(error)}`;
      this.#holdUntil = performance.now() + 5_000;
      return;
    }
    this.#run = run;
    this.active = true;
    this.used = true;
    this.waitingForMedia = false;
    console.info(`[simstudio] backup recording started (phase ${phaseIndex}, run ${number}, ${mimeType})`);
  }

  #stopRun(): void {
    const run = this.#run;
    this.#run = null;
    this.active = false;
    if (!run || run.stopped) return;
    run.stopped = true;
    // stop() hands over the last chunk (dataavailable) before 'stop'.
    if (run.recorder.state !== 'inactive') {
      try {
        run.recorder.stop();
      } catch {
        // already stopped
      }
    } else {
      void run.audio?.close().catch(() => undefined);
    }
    console.info(`[simstudio] backup recording stopped (phase ${run.phaseIndex}, run ${run.number})`);
  }

  // ---- uploading ----

  #enqueue(run: Run, data: Blob): void {
    for (let offset = 0; offset < data.size; offset += MAX_CHUNK_BYTES) {
      const blob = data.size <= MAX_CHUNK_BYTES ? data : data.slice(offset, offset + MAX_CHUNK_BYTES, data.type);
      const seq = this.#nextSeq.get(run.phaseIndex) ?? 0;
      this.#nextSeq.set(run.phaseIndex, seq + 1);
      this.#queue.push({ phaseIndex: run.phaseIndex, seq, run: run.number, startedAt: run.startedAt, blob, maybeStored: false });
    }
    this.#counts();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const chunk = this.#queue[0];
        const sessionId = this.#sessionId;
        if (!chunk || !sessionId) return;
        const result = await this.#options.upload(sessionId, chunk);
        if (result.kind === 'ok') {
          if (this.#queue[0] === chunk) this.#queue.shift();
          this.uploaded += 1;
          this.problem = null;
          this.#retryMs = RETRY_BASE_MS;
        } else if (result.kind === 'conflict') {
          this.#resync(chunk, result.expectedSeq);
        } else if (result.kind === 'refused') {
          this.#dropRun(chunk, result.message);
        } else {
          chunk.maybeStored = true;
          this.problem = `Backup upload failed (${result.message}); trying again. Keep this page open.`;
          await this.#sleep(this.#retryMs);
          this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
        }
        this.#counts();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * The server will never take this chunk: drop the rest of its run (it would be refused too),
   * stop that run if it is still recording, and renumber the phase's later chunks, since the
   * server counts only what it stored.
   */
  #dropRun(chunk: Chunk, message: string): void {
    const dropped = this.#queue.filter((c) => c.phaseIndex === chunk.phaseIndex && c.run === chunk.run);
    this.#queue = this.#queue.filter((c) => !dropped.includes(c));
    for (const c of this.#queue) if (c.phaseIndex === chunk.phaseIndex && c.seq > chunk.seq) c.seq -= dropped.length;
    this.#nextSeq.set(chunk.phaseIndex, (this.#nextSeq.get(chunk.phaseIndex) ?? 0) - dropped.length);
    if (this.#run && this.#run.phaseIndex === chunk.phaseIndex && this.#run.number === chunk.run) {
      this.#stopRun();
      this.#holdUntil = performance.now() + RECOVERED_MS;
    }
    this.problem = `The server refused the backup recording: ${message}`;
  }

  /** The server wants `expected` next for this chunk's phase: resend from there. */
  #resync(chunk: Chunk, expected: number): void {
    const phase = chunk.phaseIndex;
    const samePhase = this.#queue.filter((c) => c.phaseIndex === phase);
    if (expected > chunk.seq && chunk.maybeStored && expected <= (this.#nextSeq.get(phase) ?? 0)) {
      // An earlier attempt arrived (only its answer was lost): those chunks are stored.
      const stored = samePhase.filter((c) => c.seq < expected);
      this.#queue = this.#queue.filter((c) => !stored.includes(c));
      this.uploaded += stored.length;
      return;
    }
    // The server's count differs from ours (this page was reloaded mid-phase, or the server
    // lost chunks it had): what we hold goes on from the seq it expects.
    const shift = expected - chunk.seq;
    for (const c of samePhase) c.seq += shift;
    this.#nextSeq.set(phase, (this.#nextSeq.get(phase) ?? 0) + shift);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** Retries a waiting upload at once (e.g. when the connection comes back). */
  retryNow(): void {
    this.#retryMs = RETRY_BASE_MS;
    this.#wake?.();
  }

  #counts(): void {
    this.pending = this.#queue.length;
    this.pendingBytes = this.#queue.reduce((sum, c) => sum + c.blob.size, 0);
  }
}

function trackKeyOf(input: FallbackInput): string {
  const live = (tracks: MediaStreamTrack[]): string =>
    tracks
      .filter((t) => t.readyState === 'live')
      .map((t) => t.id)
      .join(',');
  return `${live(input.video.slice(0, 1))}|${live(input.audio)}`;
}
