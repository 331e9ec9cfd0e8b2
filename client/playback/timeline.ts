// The playback page's arithmetic, free of the DOM: which scenarios have recordings, whose
// recordings they are, and where a moment of the scenario lies in which segment.
//
// Everything is placed on the *scenario clock*: milliseconds since the phase began on the
// server (`phaseStartedAt`), the same clock evidence notes are stamped on (`atMs`). A segment
// that began at server time `startedAt` covers the scenario clock from
// `startedAt − phaseStartedAt` for its duration, so a note at `atMs` lies
// `(phaseStartedAt + atMs − startedAt) / 1000` seconds into the segment that covers it.
import type { EvidenceNoteView, RecordedPerson, RecordingRow } from '../../shared/api.ts';
import type { Role } from '../../shared/roles.ts';
import { ROLE_LABELS, ROLE_RANK } from '../../shared/roles.ts';

/** A stored segment and a recorded person, as the server lists them. */
export type PlaybackRecording = RecordingRow;
export type PlaybackPerson = RecordedPerson;
/** One evidence note, as GET /api/sessions/<id>/evidence-notes lists it. */
export type PlaybackNote = EvidenceNoteView;

export interface ScenarioChoice {
  key: string;
  label: string;
  /** The first phase with recordings of this scenario (for ordering). */
  phaseIndex: number;
}

/** A segment placed on the scenario clock. */
export interface TimedSegment {
  recording: PlaybackRecording;
  /** Where the segment begins and ends on the scenario clock (ms). */
  startMs: number;
  endMs: number;
  /** Whether endMs is a guess (duration not known yet). */
  lengthUnknown: boolean;
}

/** Everything recorded of one person (or one backup recording) in one scenario. */
export interface Track {
  /** Stable key: the participant id, or "fallback:<participantId>" for backup recordings. */
  key: string;
  participantId: string;
  name: string;
  roleLabel: string;
  role: Role | null;
  fallback: boolean;
  segments: TimedSegment[];
}

export function scenarioLabel(key: string): string {
  return key === 'reflective' ? 'Reflective conversation' : `Scenario ${key}`;
}

/** Scenarios that have at least one playable recording, in the order of the day. */
export function scenarioChoices(recordings: readonly PlaybackRecording[]): ScenarioChoice[] {
  const first = new Map<string, number>();
  for (const r of recordings) {
    if (r.status === 'deleted') continue;
    const seen = first.get(r.scenarioKey);
    if (seen === undefined || r.phaseIndex < seen) first.set(r.scenarioKey, r.phaseIndex);
  }
  return [...first.entries()]
    .map(([key, phaseIndex]) => ({ key, label: scenarioLabel(key), phaseIndex }))
    .sort((a, b) => a.phaseIndex - b.phaseIndex || a.key.localeCompare(b.key));
}


function segmentLengthMs(r: PlaybackRecording, now: number): { ms: number; unknown: boolean } {
  if (r.durationMs !== null && r.durationMs > 0) return { ms: r.durationMs, unknown: false };
  if (r.endedAt !== null && r.endedAt > r.startedAt) return { ms: r.endedAt - r.startedAt, unknown: false };
  // Still being written (or the server could not measure it): up to now, corrected once loaded.
  return { ms: Math.max(0, now - r.startedAt), unknown: true };
}

/** The recorded people of one scenario, candidate first, each with their segments in order. */
export function tracksFor(
  recordings: readonly PlaybackRecording[],
  scenarioKey: string,
  people: readonly PlaybackPerson[],
  now = Date.now(),
): Track[] {
  const rows = recordings.filter((r) => r.scenarioKey === scenarioKey && r.status !== 'deleted');
  const byKey = new Map<string, Track>();
  for (const r of rows) {
    const fallback = r.status === 'fallback';
    const key = fallback ? `fallback:${r.participantId}` : r.participantId;
    let track = byKey.get(key);
    if (!track) {
      const person = people.find((p) => p.participantId === r.participantId);
      const name = person?.displayName ?? 'Unknown participant';
      track = {
        key,
        participantId: r.participantId,
        name: fallback ? 'Backup recording' : name,
        roleLabel: fallback ? `made in ${name}’s browser` : person ? ROLE_LABELS[person.role] : '',
        role: person?.role ?? null,
        fallback,
        segments: [],
      };
      byKey.set(key, track);
    }
    const startMs = r.startedAt - r.phaseStartedAt;
    const length = segmentLengthMs(r, now);
    track.segments.push({ recording: r, startMs, endMs: startMs + length.ms, lengthUnknown: length.unknown });
  }
  const tracks = [...byKey.values()];
  for (const t of tracks) t.segments.sort((a, b) => a.startMs - b.startMs || a.recording.segment - b.recording.segment);
  const rank = (t: Track): number => (t.fallback ? 100 : 0) + (t.role ? ROLE_RANK[t.role] : 50);
  return tracks.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** The stretch of scenario clock the tracks span (ms). Starts at 0 unless a segment began earlier. */
export function spanOf(tracks: readonly Track[]): { startMs: number; endMs: number } {
  let startMs = 0;
  let endMs = 0;
  for (const t of tracks) {
    for (const s of t.segments) {
      startMs = Math.min(startMs, s.startMs);
      endMs = Math.max(endMs, s.endMs);
    }
  }
  return { startMs, endMs: Math.max(endMs, startMs) };
}

/** The segment of a track covering a moment of the scenario clock (half-open: [start, end)). */
export function segmentAt(track: Track, ms: number): TimedSegment | null {
  return track.segments.find((s) => ms >= s.startMs && ms < s.endMs) ?? null;
}

/** Seconds into `segment` that a moment of the scenario clock is. */
export function secondsInto(segment: TimedSegment, ms: number): number {
  return Math.max(0, (ms - segment.startMs) / 1000);
}

/** The first segment of a track that begins after `ms` (for "no recording until 02:10"). */
export function nextSegmentAfter(track: Track, ms: number): TimedSegment | null {
  return track.segments.find((s) => s.startMs > ms) ?? null;
}

/** Where a moment lies on a bar spanning the recording, 0..100 (%). */
export function percentOf(ms: number, span: { startMs: number; endMs: number }): number {
  const length = span.endMs - span.startMs;
  if (length <= 0) return 0;
  return Math.min(100, Math.max(0, ((ms - span.startMs) / length) * 100));
}

/** Whether an evidence note belongs to this scenario key ('1', '2', '3', 'reflective'). */
export function noteInScenario(note: PlaybackNote, scenarioKey: string): boolean {
  return String(note.scenario) === scenarioKey;
}
