// Plays the recordings of one scenario side by side, one <video> per recorded person, as if
// they were one recording: one play/pause, one position on the scenario clock.
//
// The first person with a segment at the current moment is the master: while playing, the
// position is read from the master's video, and every other video (a follower) is kept within
// a few tens of ms of it (issue 17 promises 100 ms). A small drift is closed gently, by playing
// the follower a few percent faster or slower (unseen, unheard); a larger one (a stall, a slow
// start) stops everyone, puts every video at the master's moment and starts them together. The
// same "start together" follows every seek and every Play: all videos pause, seek, and only
// when every one has finished seeking and has data to play do they all start at once.
//
// Each person's segments play one after another: before a segment begins, its video is loaded
// and waits at its start; when the position gets there, everyone starts together with it. Where
// nobody was recorded (a gap while the recorder restarted), the position moves on with the
// wall clock until a segment begins again.
import {
  nextSegmentAfter,
  secondsInto,
  segmentAt,
  spanOf,
  type TimedSegment,
  type Track,
} from './timeline.ts';

/** Followers further from the master than this are stopped and started again with it (ms). */
export const RESYNC_DRIFT_MS = 80;
/** Closer than this a follower is left alone: chasing a few ms would only make it hunt (ms). */
const DEAD_BAND_MS = 15;
/** The largest change of speed used to close a drift: a few percent is neither seen nor heard. */
const MAX_NUDGE = 0.05;
/** How hard a drift is nudged: change of speed per second of drift (50 ms → 5 %, closed in ~1 s). */
const NUDGE_PER_S = 1;
/** Positions closer than this are the same moment: no seek needed (s). */
const SAME_MOMENT_S = 0.001;
/**
 * How long Play waits for a video that cannot play its moment yet. After that the others start
 * without it (a fetch that hangs must not stop the page); it joins them once it has data.
 */
const START_LIMIT_MS = 8_000;
const TICK_MS = 100;

/**
 * The playback speed for a follower `driftMs` ahead of the master (negative: behind), or
 * 'resync' when the drift is too large to close by speed in reasonable time.
 */
export function followerRate(driftMs: number): number | 'resync' {
  const size = Math.abs(driftMs);
  if (size > RESYNC_DRIFT_MS) return 'resync';
  if (size <= DEAD_BAND_MS) return 1;
  const nudge = Math.min(MAX_NUDGE, (size / 1000) * NUDGE_PER_S);
  return driftMs > 0 ? 1 - nudge : 1 + nudge;
}

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
  /** Playing, but held until every video is at the position with data to play (since when). */
  #startingSince: number | null = null;
  /** Videos the last start gave up waiting for: they join once they can play. */
  readonly #leftBehind = new Set<string>();
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
    const ready = (): void => this.#startIfReady();
    const listeners: Array<[string, () => void]> = [
      ['loadedmetadata', () => this.#onMetadata(key, video)],
      ['durationchange', () => this.#takeLength(key, video)],
      ['ended', () => this.#onEnded(key)],
      ['waiting', () => this.#setView(key, { waiting: true })],
      ['seeking', () => this.#setView(key, { waiting: true })],
      ['playing', () => this.#setView(key, { waiting: false })],
      ['seeked', () => this.#setView(key, { waiting: false })],
      ['canplay', () => this.#setView(key, { waiting: false })],
      // Any of these may be the last thing a held start was waiting for.
      ['seeked', ready],
      ['canplay', ready],
      ['canplaythrough', ready],
      ['error', () => this.#onError(key, video)],
    ];
    for (const [event, handler] of listeners) video.addEventListener(event, handler);
    video.muted = this.muted[key] ?? false;
    this.#place(key);
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
    if (this.#timer === null) this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#startTogether();
  }

  pause(): void {
    if (this.playing) this.#holdMaster();
    this.playing = false;
    this.#startingSince = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    for (const video of this.#videos.values()) {
      if (!video.paused) video.pause();
      video.playbackRate = 1;
    }
    // The followers stopped a few ms apart: show everyone at the master's moment.
    if (!this.#destroyed) for (const t of this.tracks) this.#place(t.key);
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
    if (this.playing) this.#startTogether();
    else for (const t of this.tracks) this.#place(t.key);
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
    if (this.#startingSince !== null) {
      this.#startIfReady(); // also gives up on a video that keeps everyone waiting too long
      return;
    }

    const masterKey = this.#masterKey();
    if (masterKey === null) {
      // Nobody was recorded now: let the wall clock carry the position to the next segment.
      this.position += elapsed;
    } else {
      const master = this.#runningAt(masterKey);
      // The master stalled, or its next segment has to be loaded: everyone waits for it.
      if (master === null) return this.#startTogether();
      this.position = master;
    }
    if (this.position >= this.span.endMs) {
      this.position = this.span.endMs;
      this.pause();
      return;
    }

    for (const t of this.tracks) {
      if (t.key === masterKey || this.views[t.key]?.error) continue;
      if (this.#follow(t.key)) continue;
      // Out of step beyond nudging: everyone stops at the master's moment and starts again from there.
      this.#holdMaster();
      return this.#startTogether();
    }
  }

  /** The track whose video sets the position: the first recorded now that can be played. */
  #masterKey(): string | null {
    for (const t of this.tracks) {
      if (this.views[t.key]?.error || this.#leftBehind.has(t.key)) continue;
      if (segmentAt(t, this.position)) return t.key;
    }
    return null;
  }

  /** Where a track's video is on the scenario clock, if it is playing its current segment now (ms). */
  #runningAt(key: string): number | null {
    const video = this.#videos.get(key);
    const seg = this.segmentNow(key);
    if (!video || !seg || !this.#canPlayAt(key, seg) || video.paused || video.ended) return null;
    return seg.startMs + video.currentTime * 1000;
  }

  /** Whether the track's video holds `seg`, is not seeking, and has data to play from here. */
  #canPlayAt(key: string, seg: TimedSegment): boolean {
    const video = this.#videos.get(key);
    if (!video || this.views[key]?.loadedId !== seg.recording.id || this.#pendingSeek.has(key)) return false;
    return !video.seeking && (video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA || video.ended);
  }

  /**
   * Keeps one follower with the master while playing. Returns false when only stopping
   * everyone and starting together can bring it back (it drifted too far, or it should be
   * playing and is not).
   */
  #follow(key: string): boolean {
    const video = this.#videos.get(key);
    const track = this.tracks.find((t) => t.key === key);
    if (!video || !track) return true;
    const seg = segmentAt(track, this.position);
    if (!seg) {
      // Not recorded at this moment: wait at the start of the next segment (loaded already, so
      // it can start soon after the position gets there), or hold the last picture.
      this.#place(key);
      return true;
    }
    if (video.ended) return true; // shorter than listed: it waits there for its next segment
    if (this.#leftBehind.has(key)) {
      // Given up on by the last start: the others carry on without it until it can play, then
      // everyone starts together once more, with it.
      if (this.views[key]?.loadedId !== seg.recording.id) this.#load(key, video, seg, secondsInto(seg, this.position));
      return !this.#canPlayAt(key, seg);
    }
    // Its segment has just begun (or a stall): it joins by everyone starting together, because
    // a video started alone shows its first frames ~0.1 s late (while the others play on).
    if (!this.#canPlayAt(key, seg) || video.paused) return false;
    const rate = followerRate(seg.startMs + video.currentTime * 1000 - this.position);
    if (rate === 'resync') return false;
    if (Math.abs(video.playbackRate - rate) > 0.001) video.playbackRate = rate;
    return true;
  }

  /**
   * Stops every video, puts each at the position, and holds there until all have finished
   * seeking and can play (#startIfReady), so that they start together. Every video seeks, even
   * one already at the moment: a video fresh from a seek starts showing frames later than one
   * merely paused (some 50–100 ms in Chromium), so only equal treatment starts them in step.
   */
  #startTogether(): void {
    this.#startingSince = performance.now();
    this.#leftBehind.clear();
    for (const video of this.#videos.values()) {
      if (!video.paused) video.pause();
      video.playbackRate = 1;
    }
    for (const t of this.tracks) this.#place(t.key, true);
    this.#startIfReady();
  }

  /** Starts a held Play once every video recorded now can play its moment (or waited too long). */
  #startIfReady(): void {
    if (!this.playing || this.#startingSince === null || this.#destroyed) return;
    const notReady = this.tracks.filter((t) => {
      const seg = segmentAt(t, this.position);
      return seg !== null && !this.views[t.key]?.error && !this.#canPlayAt(t.key, seg);
    });
    if (notReady.length > 0 && performance.now() - this.#startingSince < START_LIMIT_MS) return;
    for (const t of notReady) this.#leftBehind.add(t.key);
    this.#startingSince = null;
    this.#lastTick = performance.now();
    for (const t of this.tracks) {
      const seg = segmentAt(t, this.position);
      const video = this.#videos.get(t.key);
      if (seg && video && !this.#leftBehind.has(t.key) && !this.views[t.key]?.error && !video.ended) this.#start(t.key, video);
    }
  }

  /** A running master's moment becomes the position as it stops (so it needs no seek back). */
  #holdMaster(): void {
    if (this.#startingSince !== null) return;
    const key = this.#masterKey();
    const seg = key === null ? null : this.segmentNow(key);
    const video = key === null ? undefined : this.#videos.get(key);
    if (key === null || !seg || !video || this.#runningAt(key) === null) return;
    video.pause();
    this.position = Math.min(Math.max(seg.startMs + video.currentTime * 1000, this.span.startMs), this.span.endMs);
  }

  /**
   * Puts one track's video at the position: the right segment, the right moment (not playing
   * it). `reseek`: seek even if it is there already.
   */
  #place(key: string, reseek = false): void {
    const video = this.#videos.get(key);
    const track = this.tracks.find((t) => t.key === key);
    if (!video || !track) return;
    const seg = segmentAt(track, this.position);
    const view = this.views[key];
    if (!seg) {
      // Not recorded at this moment: wait at the start of the next segment, or hold the last picture.
      if (!video.paused) video.pause();
      const upcoming = nextSegmentAfter(track, this.position);
      if (upcoming && view?.loadedId !== upcoming.recording.id) this.#load(key, video, upcoming, 0);
      else if (upcoming && video.currentTime > SAME_MOMENT_S) video.currentTime = 0;
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
    const target = Math.min(wanted, end);
    // (A seek still running reports its target as currentTime: a new one replaces it.)
    if (reseek || Math.abs(video.currentTime - target) > SAME_MOMENT_S) video.currentTime = target;
  }

  #load(key: string, video: HTMLVideoElement, seg: TimedSegment, atSeconds: number): void {
    this.#pendingSeek.set(key, atSeconds);
    this.#setView(key, { loadedId: seg.recording.id, waiting: true, error: null });
    video.src = this.#mediaUrl(seg.recording.id);
    video.load();
  }

  #start(key: string, video: HTMLVideoElement): void {
    if (!video.paused) return;
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
    // Its `seeked` tells a held start (or the next tick) that it is in place.
  }

  #onEnded(key: string): void {
    const seg = this.#segmentById(key, this.views[key]?.loadedId ?? null);
    if (!seg || !this.playing) return;
    // The master's segment is over: move the shared position to its end, so the next
    // segment (or the gap before it) follows. A follower simply waits for the position.
    if (this.#masterKey() === key && this.position < seg.endMs) {
      this.position = seg.endMs;
      this.#lastTick = performance.now();
      this.#startTogether();
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
    this.#startIfReady(); // a held start no longer waits for it
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
