// Plays the recordings of one scenario side by side, one <video> per recorded person, as if
// they were one recording: one play/pause, one position on the scenario clock.
//
// The first person with a segment at the current moment is the master: while playing, the
// position is read from the master's video, and every other video is corrected when it
// drifts more than 0.3 s from it. Each person's segments play one after another: when the
// position leaves a segment (or its video ends), that person's next segment is loaded and
// started at the right moment. Where nobody was recorded (a gap while the recorder
// restarted), the position moves on with the wall clock until a segment begins again.
import {
  nextSegmentAfter,
  secondsInto,
  segmentAt,
  spanOf,
  type TimedSegment,
  type Track,
} from './timeline.ts';

/** Followers further than this from the master are moved back into step (seconds). */
export const MAX_DRIFT_S = 0.3;
const TICK_MS = 100;

export interface TrackView {
  /** Recording id loaded into the track's video (null: nothing loaded yet). */
  loadedId: string | null;
  /** The video is fetching data and cannot show the current moment yet. */
  waiting: boolean;
  /** The loaded segment could not be played. */
  error: string | null;
}

export class PlaybackSync {
  /** The recorded people (their segments' ends are corrected once a video reports its length). */
  tracks = $state<Track[]>([]);
  /** The shared position on the scenario clock (ms since the phase began). */
  position = $state(0);
  playing = $state(false);
  views = $state<Record<string, TrackView>>({});
  /** Muted tracks, by key. */
  muted = $state<Record<string, boolean>>({});
  readonly span = $derived(spanOf(this.tracks));

  readonly #mediaUrl: (recordingId: string) => string;
  readonly #videos = new Map<string, HTMLVideoElement>();
  /** Where a freshly loaded video must start (seconds), applied once its metadata is in. */
  readonly #pendingSeek = new Map<string, number>();
  /** A deep link's moment, applied again once the first video has loaded (null: none waiting). */
  #readySeek: number | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastTick = 0;
  #destroyed = false;

  constructor(tracks: Track[], mediaUrl: (recordingId: string) => string) {
    this.tracks = tracks;
    this.#mediaUrl = mediaUrl;
    this.position = spanOf(tracks).startMs;
    const views: Record<string, TrackView> = {};
    for (const t of tracks) views[t.key] = { loadedId: null, waiting: false, error: null };
    this.views = views;
  }

  /** The segment of a track at the current position (null: not recorded at this moment). */
  segmentNow(key: string): TimedSegment | null {
    const track = this.tracks.find((t) => t.key === key);
    return track ? segmentAt(track, this.position) : null;
  }

  /** Registers a track's <video>; returns the clean-up. */
  attach(key: string, video: HTMLVideoElement): () => void {
    this.#videos.set(key, video);
    const listeners: Array<[string, () => void]> = [
      ['loadedmetadata', () => this.#onMetadata(key, video)],
      ['durationchange', () => this.#takeLength(key, video)],
      ['ended', () => this.#onEnded(key)],
      ['waiting', () => this.#setView(key, { waiting: true })],
      ['seeking', () => this.#setView(key, { waiting: true })],
      ['playing', () => this.#setView(key, { waiting: false })],
      ['seeked', () => this.#setView(key, { waiting: false })],
      ['canplay', () => this.#setView(key, { waiting: false })],
      ['error', () => this.#onError(key, video)],
    ];
    for (const [event, handler] of listeners) video.addEventListener(event, handler);
    video.muted = this.muted[key] ?? false;
    this.#syncOne(key, true);
    return () => {
      for (const [event, handler] of listeners) video.removeEventListener(event, handler);
      if (this.#videos.get(key) === video) this.#videos.delete(key);
      video.pause();
      video.removeAttribute('src');
      video.load();
    };
  }

  play(): void {
    if (this.#destroyed) return;
    if (this.position >= this.span.endMs - 250) this.position = this.span.startMs;
    this.playing = true;
    this.#lastTick = performance.now();
    for (const t of this.tracks) this.#syncOne(t.key, false);
    if (this.#timer === null) this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  pause(): void {
    this.playing = false;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const video of this.#videos.values()) if (!video.paused) video.pause();
  }

  toggle(): void {
    if (this.playing) this.pause();
    else this.play();
  }

  /** Moves every video to a moment of the scenario clock (ms). */
  seek(ms: number): void {
    this.#readySeek = null;
    this.#seekTo(ms);
  }

  /**
   * Moves to a moment (a deep link to it) now, and once more when the first video has loaded:
   * by then segments of unknown length have their real length, so the moment is no longer cut
   * short to the guessed end. Anything the viewer does meanwhile (a seek) wins.
   */
  seekWhenReady(ms: number): void {
    this.#seekTo(ms);
    const loaded = [...this.#videos.values()].some((v) => v.readyState >= HTMLMediaElement.HAVE_METADATA);
    this.#readySeek = loaded || this.tracks.length === 0 ? null : ms;
  }

  #seekTo(ms: number): void {
    const { startMs, endMs } = this.span;
    this.position = Math.min(Math.max(ms, startMs), endMs);
    this.#lastTick = performance.now();
    for (const t of this.tracks) this.#syncOne(t.key, true);
  }

  skip(deltaMs: number): void {
    this.seek(this.position + deltaMs);
  }

  setMuted(key: string, muted: boolean): void {
    this.muted[key] = muted;
    const video = this.#videos.get(key);
    if (video) video.muted = muted;
  }

  destroy(): void {
    this.#destroyed = true;
    this.pause();
  }

  // ---- internals ----

  #tick(): void {
    const now = performance.now();
    const elapsed = now - this.#lastTick;
    this.#lastTick = now;
    if (!this.playing) return;

    // The master: the first person recorded at this moment whose video can play.
    let masterKey: string | null = null;
    for (const t of this.tracks) {
      if (this.views[t.key]?.error) continue;
      if (segmentAt(t, this.position)) {
        masterKey = t.key;
        break;
      }
    }
    if (masterKey === null) {
      // Nobody was recorded now: let the wall clock carry the position to the next segment.
      this.position += elapsed;
    } else {
      const seg = this.segmentNow(masterKey);
      const video = this.#videos.get(masterKey);
      const ready =
        seg !== null &&
        video !== undefined &&
        this.views[masterKey]?.loadedId === seg.recording.id &&
        !this.#pendingSeek.has(masterKey) &&
        !video.seeking &&
        video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA;
      // While the master is still fetching, the position holds (the others wait with it).
      if (ready && seg && video) this.position = seg.startMs + video.currentTime * 1000;
    }

    if (this.position >= this.span.endMs) {
      this.position = this.span.endMs;
      this.pause();
      return;
    }
    for (const t of this.tracks) this.#syncOne(t.key, false);
  }

  /** Brings one track's video to the shared position: right segment, right moment, playing or not. */
  #syncOne(key: string, hard: boolean): void {
    const video = this.#videos.get(key);
    const track = this.tracks.find((t) => t.key === key);
    if (!video || !track) return;
    const seg = segmentAt(track, this.position);
    const view = this.views[key];
    if (!seg) {
      // Not recorded at this moment: wait at the start of the next segment (loaded already, so
      // it starts at once when the position gets there), or hold the last picture.
      if (!video.paused) video.pause();
      const upcoming = nextSegmentAfter(track, this.position);
      if (upcoming && view?.loadedId !== upcoming.recording.id) this.#load(key, video, upcoming, 0);
      return;
    }
    const wanted = secondsInto(seg, this.position);
    if (view?.loadedId !== seg.recording.id) {
      this.#load(key, video, seg, wanted);
      return;
    }
    if (view.error) return;
    if (this.#pendingSeek.has(key)) {
      // Still loading: start where the position will be once it has loaded.
      this.#pendingSeek.set(key, wanted);
      return;
    }
    const end = Number.isFinite(video.duration) ? video.duration : Number.POSITIVE_INFINITY;
    if (hard) {
      // A new seek replaces one still running.
      video.currentTime = Math.min(wanted, end);
    } else if (!video.seeking && wanted < end && Math.abs(video.currentTime - wanted) > MAX_DRIFT_S) {
      // Drifted: back into step. (A video that ran off its end waits there for the next segment.)
      video.currentTime = wanted;
    }
    if (this.playing && video.paused && !video.ended) this.#start(key, video);
    if (!this.playing && !video.paused) video.pause();
  }

  #load(key: string, video: HTMLVideoElement, seg: TimedSegment, atSeconds: number): void {
    this.#pendingSeek.set(key, atSeconds);
    this.#setView(key, { loadedId: seg.recording.id, waiting: true, error: null });
    video.src = this.#mediaUrl(seg.recording.id);
    video.load();
  }

  #start(key: string, video: HTMLVideoElement): void {
    video.play().catch((error: unknown) => {
      if (this.#destroyed) return;
      if (error instanceof DOMException && error.name === 'AbortError') return; // a newer load or pause
      if (error instanceof DOMException && error.name === 'NotAllowedError') {
        // The browser wants a click before playing sound: stop so the next Play is that click.
        this.pause();
        return;
      }
      console.warn(`[simstudio] playback of ${key} could not start`, error);
    });
  }

  /**
   * A segment whose length the server could not measure (cut off, still being written, a
   * backup) takes the length the file turns out to have: files without a duration in their
   * header report it once the browser has read to their end.
   */
  #takeLength(key: string, video: HTMLVideoElement): void {
    const seg = this.#segmentById(key, this.views[key]?.loadedId ?? null);
    if (!seg || seg.recording.durationMs !== null) return;
    if (!Number.isFinite(video.duration) || video.duration <= 0) return;
    seg.endMs = seg.startMs + video.duration * 1000;
    seg.lengthUnknown = false;
  }

  #onMetadata(key: string, video: HTMLVideoElement): void {
    this.#takeLength(key, video);
    const wanted = this.#pendingSeek.get(key);
    this.#pendingSeek.delete(key);
    if (this.#readySeek !== null) {
      // The first video is in: go to the deep link's moment (the same path as choosing a note).
      const ms = this.#readySeek;
      this.#readySeek = null;
      this.#seekTo(ms);
      return;
    }
    // The position may have moved on while loading.
    const current = this.segmentNow(key);
    if (current && current.recording.id === this.views[key]?.loadedId) {
      video.currentTime = secondsInto(current, this.position);
    } else if (wanted !== undefined) {
      video.currentTime = wanted;
    }
    this.#syncOne(key, false);
  }

  #onEnded(key: string): void {
    const seg = this.#segmentById(key, this.views[key]?.loadedId ?? null);
    if (!seg || !this.playing) return;
    // The master's segment is over: move the shared position to its end, so the next
    // segment (or the gap before it) follows. A follower simply waits for the position.
    const isMaster = this.tracks.find((t) => !this.views[t.key]?.error && segmentAt(t, this.position))?.key === key;
    if (isMaster && this.position < seg.endMs) {
      this.position = seg.endMs;
      this.#lastTick = performance.now();
      for (const t of this.tracks) this.#syncOne(t.key, false);
    }
  }

  #onError(key: string, video: HTMLVideoElement): void {
    if (!video.getAttribute('src')) return; // cleared on purpose
    const code = video.error?.code;
    const message =
      code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED
        ? 'This recording could not be opened (it may have been deleted, or this browser cannot play WebM).'
        : code === MediaError.MEDIA_ERR_NETWORK
          ? 'The recording could not be fetched (network problem).'
          : 'This recording could not be played.';
    this.#pendingSeek.delete(key);
    this.#setView(key, { waiting: false, error: message });
  }

  #segmentById(key: string, id: string | null): TimedSegment | null {
    if (id === null) return null;
    return this.tracks.find((t) => t.key === key)?.segments.find((s) => s.recording.id === id) ?? null;
  }

  #setView(key: string, patch: Partial<TrackView>): void {
    const view = this.views[key] ?? { loadedId: null, waiting: false, error: null };
    this.views[key] = { ...view, ...patch };
  }
}
