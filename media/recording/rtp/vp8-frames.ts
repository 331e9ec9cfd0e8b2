// VP8 frames from RTP payloads (RFC 7741). Packets arrive in sequence order (the reorder
// buffer's job); a frame is its packets from the one that starts partition 0 to the one with
// the marker bit. A gap inside a frame loses that frame; every frame after it is useless to a
// decoder until the next keyframe, so the assembler says so and drops them.

export interface Vp8Frame {
  timestamp: number;
  keyframe: boolean;
  /** Picture size, read from a keyframe's header. */
  width?: number;
  height?: number;
  data: Buffer;
}

/** The VP8 payload descriptor's length and whether it starts partition 0 of a frame. */
function descriptor(payload: Buffer): { length: number; startsFrame: boolean } | null {
  if (payload.length < 1) return null;
  const first = payload[0]!;
  const startsFrame = (first & 0x10) !== 0 && (first & 0x07) === 0;
  let length = 1;
  if (first & 0x80) {
    if (payload.length < 2) return null;
    const x = payload[1]!;
    length = 2;
    if (x & 0x80) length += payload.length > length && payload[length]! & 0x80 ? 2 : 1;
    if (x & 0x40) length += 1;
    if (x & 0x20 || x & 0x10) length += 1;
  }
  return length <= payload.length ? { length, startsFrame } : null;
}

/** No camera frame comes near this (a 4K keyframe is about 1 MB): a sender that never ends a
 *  frame must not grow the server's memory. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

export class Vp8Assembler {
  private parts: Buffer[] = [];
  private bytes = 0;
  private timestamp: number | null = null;
  /** Frames are dropped until a keyframe: the first frames, and after any loss. */
  private awaitingKeyframe = true;

  /** A gap in the sequence: the frame being assembled is lost. */
  lost(): void {
    this.parts = [];
    this.bytes = 0;
    this.timestamp = null;
    this.awaitingKeyframe = true;
  }

  get needsKeyframe(): boolean {
    return this.awaitingKeyframe;
  }

  /** Takes the next packet in sequence; returns a frame when this packet completes one. */
  push(payload: Buffer, timestamp: number, marker: boolean): Vp8Frame | null {
    const d = descriptor(payload);
    if (!d) {
      this.lost();
      return null;
    }
    if (d.startsFrame) {
      this.parts = [];
      this.bytes = 0;
      this.timestamp = timestamp;
    } else if (this.timestamp !== timestamp) {
      // The middle of a frame whose start we never saw.
      this.lost();
      return null;
    }
    this.parts.push(payload.subarray(d.length));
    this.bytes += payload.length - d.length;
    if (this.bytes > MAX_FRAME_BYTES) {
      this.lost();
      return null;
    }
    if (!marker) return null;
    const data = Buffer.concat(this.parts);
    this.parts = [];
    this.bytes = 0;
    this.timestamp = null;
    if (data.length < 3) return null;
    const keyframe = (data[0]! & 0x01) === 0;
    if (!keyframe && this.awaitingKeyframe) return null;
    const frame: Vp8Frame = { timestamp, keyframe, data };
    if (keyframe) {
      if (data.length < 10 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return null;
      frame.width = data.readUInt16LE(6) & 0x3fff;
      frame.height = data.readUInt16LE(8) & 0x3fff;
      this.awaitingKeyframe = false;
    }
    return frame;
  }
}
