// Writes a live WebM stream (Matroska, EBML) of VP8 video and Opus audio: a header with the
// tracks, then clusters of SimpleBlocks, each on a millisecond timeline the caller chose. The
// segment's size is left unknown (it is a stream); the recorder's ffmpeg copies it into the
// final file, which gets an index and a duration there.

const ID = {
  ebml: 0x1a45dfa3,
  ebmlVersion: 0x4286,
  ebmlReadVersion: 0x42f7,
  ebmlMaxIdLength: 0x42f2,
  ebmlMaxSizeLength: 0x42f3,
  docType: 0x4282,
  docTypeVersion: 0x4287,
  docTypeReadVersion: 0x4285,
  segment: 0x18538067,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  muxingApp: 0x4d80,
  writingApp: 0x5741,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackUid: 0x73c5,
  trackType: 0x83,
  flagLacing: 0x9c,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  defaultDuration: 0x23e383,
  seekPreRoll: 0x56bb,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  cluster: 0x1f43b675,
  timestamp: 0xe7,
  simpleBlock: 0xa3,
} as const;

function idBytes(id: number): Buffer {
  const length = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const out = Buffer.alloc(length);
  out.writeUIntBE(id, 0, length);
  return out;
}

/** An EBML variable-length size, in the fewest bytes. */
function sizeBytes(size: number): Buffer {
  for (let length = 1; length <= 8; length++) {
    if (size < 2 ** (7 * length) - 1) {
      const out = Buffer.alloc(length);
      let rest = size;
      for (let i = length - 1; i >= 0; i--) {
        out[i] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      out[0]! |= 1 << (8 - length);
      return out;
    }
  }
  throw new Error(`EBML size too large: ${size}`);
}

function element(id: number, data: Buffer): Buffer {
  return Buffer.concat([idBytes(id), sizeBytes(data.length), data]);
}

function uint(id: number, value: number): Buffer {
  let length = 1;
  while (value >= 2 ** (8 * length)) length++;
  const data = Buffer.alloc(length);
  data.writeUIntBE(value, 0, length);
  return element(id, data);
}

function float(id: number, value: number): Buffer {
  const data = Buffer.alloc(8);
  data.writeDoubleBE(value);
  return element(id, data);
}

function text(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

function master(id: number, ...children: Buffer[]): Buffer {
  return element(id, Buffer.concat(children));
}

/** Read back by FFmpeg as a 29999/30 fps stream: see server/recording/webm-repair.ts. */
const VIDEO_DEFAULT_DURATION_NS = 1_000_033;
/** Opus needs 80 ms of audio before a seek point to converge (RFC 7845). */
const OPUS_SEEK_PRE_ROLL_NS = 80_000_000;

/** The Opus identification header (RFC 7845, 5.1) that Matroska stores as CodecPrivate. */
function opusHead(channels: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'ascii');
  head[8] = 1; // version
  head[9] = channels;
  head.writeUInt16LE(0, 10); // pre-skip: RTP carries none; the first sample is the packet's timestamp
  head.writeUInt32LE(48000, 12);
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // mapping family: mono or stereo
  return head;
}

export interface WebmTracks {
  video?: { width: number; height: number };
  audio?: { channels: number };
}

export interface WebmBlock {
  track: 'video' | 'audio';
  /** Milliseconds on the stream's timeline (never less than the cluster's start). */
  timeMs: number;
  keyframe: boolean;
  data: Buffer;
}

/** Track numbers: video first, as a player expects. */
export function trackNumbers(tracks: WebmTracks): { video?: number; audio?: number } {
  const numbers: { video?: number; audio?: number } = {};
  let next = 1;
  if (tracks.video) numbers.video = next++;
  if (tracks.audio) numbers.audio = next++;
  return numbers;
}

/** A track entry: what every track has (number, uid, type, codec; no lacing), then the rest. */
function trackEntry(number: number, type: 'video' | 'audio', codecId: string, ...rest: Buffer[]): Buffer {
  return master(
    ID.trackEntry,
    uint(ID.trackNumber, number),
    uint(ID.trackUid, number),
    uint(ID.trackType, type === 'video' ? 1 : 2),
    uint(ID.flagLacing, 0),
    text(ID.codecId, codecId),
    ...rest,
  );
}

/** The EBML header, the start of a segment of unknown size, its info and its tracks. */
export function webmHeader(tracks: WebmTracks): Buffer {
  const numbers = trackNumbers(tracks);
  const entries: Buffer[] = [];
  if (tracks.video && numbers.video) {
    const { width, height } = tracks.video;
    entries.push(
      trackEntry(numbers.video, 'video', 'V_VP8', uint(ID.defaultDuration, VIDEO_DEFAULT_DURATION_NS), master(ID.video, uint(ID.pixelWidth, width), uint(ID.pixelHeight, height))),
    );
  }
  if (tracks.audio && numbers.audio) {
    const { channels } = tracks.audio;
    entries.push(
      trackEntry(
        numbers.audio,
        'audio',
        'A_OPUS',
        element(ID.codecPrivate, opusHead(channels)),
        uint(ID.seekPreRoll, OPUS_SEEK_PRE_ROLL_NS),
        master(ID.audio, float(ID.samplingFrequency, 48000), uint(ID.channels, channels)),
      ),
    );
  }
  return Buffer.concat([
    master(
      ID.ebml,
      uint(ID.ebmlVersion, 1),
      uint(ID.ebmlReadVersion, 1),
      uint(ID.ebmlMaxIdLength, 4),
      uint(ID.ebmlMaxSizeLength, 8),
      text(ID.docType, 'webm'),
      uint(ID.docTypeVersion, 4),
      uint(ID.docTypeReadVersion, 2),
    ),
    // A segment of unknown size (all ones): the stream's end is where it ends.
    idBytes(ID.segment),
    Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    master(ID.info, uint(ID.timestampScale, 1_000_000), text(ID.muxingApp, 'SimStudio'), text(ID.writingApp, 'SimStudio')),
    master(ID.tracks, ...entries),
  ]);
}

/** One cluster: blocks in time order, each within 32 s of the first. */
export function webmCluster(tracks: WebmTracks, blocks: readonly WebmBlock[]): Buffer {
  const numbers = trackNumbers(tracks);
  const start = blocks[0]!.timeMs;
  const parts: Buffer[] = [uint(ID.timestamp, start)];
  for (const b of blocks) {
    const number = numbers[b.track];
    if (number === undefined) throw new Error(`no ${b.track} track in this stream`);
    const relative = b.timeMs - start;
    if (relative < 0 || relative > 32767) throw new Error(`block at ${b.timeMs} ms does not fit a cluster starting at ${start} ms`);
    const head = Buffer.alloc(4);
    head[0] = 0x80 | number;
    head.writeInt16BE(relative, 1);
    head[3] = b.keyframe ? 0x80 : 0;
    parts.push(element(ID.simpleBlock, Buffer.concat([head, b.data])));
  }
  return master(ID.cluster, ...parts);
}
