// Completing a segment's WebM file after its recorder ended: a copy-remux for a file whose
// ffmpeg was killed (no index, no duration), and the frame timing every segment declares.
//
// Frame timing: a camera has no steady frame rate, but the recorder's ffmpeg writes the rate it
// guessed from its first second of RTP (20 fps from Chromium's camera) as the video track's
// Matroska DefaultDuration. A reader takes that as the stream's frame rate; `ffmpeg -i seg
// -f null -` (FFmpeg 5.1) then times the decoded frames on that rate's grid, and two frames
// closer than one period (a camera catching up) land on one slot: "non monotonically
// increasing dts". Timestamps are stored in milliseconds, so the honest grid is the
// millisecond: each segment's DefaultDuration is set, in place (same size, nothing else
// moves), to just over 1 ms. FFmpeg's Matroska reader takes a DefaultDuration as the frame
// rate only below 1000 fps (at exactly 1 ms it guesses a rate from the frames again), so
// 1,000,033 ns, read as 29999/30 fps, is the finest it keeps. A copy-remux writes it back
// unchanged. Frames 1 ms apart could still share a slot; no camera sends them.
import fs from 'node:fs';
import { spawnTied } from '../../media/recording/tied-child.ts';

/** Read back by FFmpeg as r_frame_rate = avg_frame_rate = 29999/30 (see above). */
export const FINE_DEFAULT_DURATION_NS = 1_000_033;

const ID = {
  ebml: 0x1a45dfa3,
  segment: 0x18538067,
  tracks: 0x1654ae6b,
  cluster: 0x1f43b675,
  trackEntry: 0xae,
  trackType: 0x83,
  defaultDuration: 0x23e383,
  crc32: 0xbf,
};
const VIDEO_TRACK = 1;
/** The track headers sit in the first few kilobytes; this bounds the read. */
const HEAD_BYTES = 1 << 20;

interface Element {
  id: number;
  /** Where its data begins and ends (end is null for an unknown size). */
  data: number;
  end: number | null;
}

/** An EBML element header at `pos`, or null if it runs past the bytes read. */
function elementAt(buf: Buffer, pos: number): Element | null {
  if (pos >= buf.length) return null;
  const idLength = Math.clz32(buf[pos]!) - 23;
  if (idLength < 1 || idLength > 4 || pos + idLength >= buf.length) return null;
  const id = buf.readUIntBE(pos, idLength);
  const sizePos = pos + idLength;
  const sizeLength = Math.clz32(buf[sizePos]!) - 23;
  if (sizeLength < 1 || sizeLength > 8 || sizePos + sizeLength > buf.length) return null;
  let size = BigInt(buf[sizePos]! & (0xff >> sizeLength));
  for (let i = 1; i < sizeLength; i++) size = (size << 8n) | BigInt(buf[sizePos + i]!);
  const data = sizePos + sizeLength;
  const unknown = size === (1n << BigInt(7 * sizeLength)) - 1n;
  return { id, data, end: unknown ? null : data + Number(size) };
}

/** The child elements of [start, end) that lie wholly within the bytes read. */
function* children(buf: Buffer, start: number, end: number): Generator<Element> {
  let pos = start;
  while (pos < end) {
    const el = elementAt(buf, pos);
    if (!el || el.end === null || el.end > buf.length) return;
    yield el;
    pos = el.end;
  }
}

/**
 * Sets the DefaultDuration of every video track of a WebM file, in place. Returns whether it
 * found the track headers, how many video tracks they list, and how many it set (a track
 * without a DefaultDuration, or inside a CRC-32 checked element, is left alone).
 */
export function setVideoDefaultDuration(file: string, ns: number): { tracks: boolean; videoTracks: number; set: number } {
  const result = { tracks: false, videoTracks: 0, set: 0 };
  const fd = fs.openSync(file, 'r+');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const buf = head.subarray(0, fs.readSync(fd, head, 0, HEAD_BYTES, 0));
    const header = elementAt(buf, 0);
    if (header?.id !== ID.ebml || header.end === null) return result;
    const segment = elementAt(buf, header.end);
    if (segment?.id !== ID.segment) return result;
    const segmentEnd = Math.min(segment.end ?? buf.length, buf.length);
    for (const top of children(buf, segment.data, segmentEnd)) {
      if (top.id === ID.cluster) break;
      if (top.id !== ID.tracks) continue;
      result.tracks = true;
      const entries = [...children(buf, top.data, top.end!)];
      const tracksChecked = entries.some((e) => e.id === ID.crc32);
      for (const entry of entries.filter((e) => e.id === ID.trackEntry)) {
        const fields = [...children(buf, entry.data, entry.end!)];
        const type = fields.find((f) => f.id === ID.trackType);
        if (!type || type.end! - type.data !== 1 || buf[type.data] !== VIDEO_TRACK) continue;
        result.videoTracks++;
        const duration = fields.find((f) => f.id === ID.defaultDuration);
        const width = duration ? duration.end! - duration.data : 0;
        if (!duration || width < 1 || width > 8 || ns >= 2 ** (8 * width)) continue;
        if (tracksChecked || fields.some((f) => f.id === ID.crc32)) continue;
        // Big-endian, zero-padded to the width already there: nothing else in the file moves.
        const value = Buffer.alloc(width);
        for (let i = width - 1, rest = ns; i >= 0; i--, rest = Math.floor(rest / 256)) value[i] = rest % 256;
        fs.writeSync(fd, value, 0, width, duration.data);
        result.set++;
      }
      break;
    }
    if (result.set > 0) fs.fsyncSync(fd);
    return result;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Gives a finished segment the millisecond frame grid (see the top of this file). A video
 * track without a DefaultDuration (its recorder guessed no rate) gets one from a copy-remux,
 * whose reader guesses a rate; that one is then replaced in place. False when some video
 * track could not be given it (the file is left readable as it was).
 */
export async function declareFrameTiming(file: string): Promise<boolean> {
  if (fileSize(file) === 0) return true;
  try {
    const first = setVideoDefaultDuration(file, FINE_DEFAULT_DURATION_NS);
    if (first.tracks && first.set === first.videoTracks) return true;
    await remux(file);
    const second = setVideoDefaultDuration(file, FINE_DEFAULT_DURATION_NS);
    return second.tracks && second.set === second.videoTracks;
  } catch {
    return false;
  }
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Rewrites a WebM in place with ffmpeg -c copy: adds the index and duration a killed ffmpeg
 * never wrote, and drops a cluster it was cut off in the middle of. The original stays if
 * the copy fails; the rename is atomic, so a crash during it leaves one or the other.
 */
export function remux(file: string): Promise<void> {
  const out = `${file}.remux.webm`;
  return new Promise((resolve) => {
    const run = spawnTied('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-c', 'copy', '-f', 'webm', '-y', out], { stdio: 'ignore' });
    run.on('close', (code) => {
      // A cut-off last cluster makes ffmpeg complain at the very end; what it copied before
      // that is kept, but never a copy that lost much of the original.
      if (fileSize(out) > 0 && (code === 0 || fileSize(out) >= 0.9 * fileSize(file))) fs.renameSync(out, file);
      else fs.rmSync(out, { force: true });
      resolve();
    });
    run.on('error', () => resolve());
  });
}
