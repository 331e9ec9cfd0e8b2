// The parts of an RTP packet (RFC 3550) the recorder needs: sequence number, timestamp,
// marker and payload. Header extensions and padding are skipped, never trusted for lengths
// beyond the packet: a malformed packet parses to null.

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

export function parseRtp(buf: Buffer): RtpPacket | null {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return null;
  const padding = (buf[0]! & 0x20) !== 0;
  const extension = (buf[0]! & 0x10) !== 0;
  const csrcCount = buf[0]! & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (extension) {
    if (offset + 4 > buf.length) return null;
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (padding) end -= buf[buf.length - 1]!;
  if (offset > end) return null;
  return {
    payloadType: buf[1]! & 0x7f,
    marker: (buf[1]! & 0x80) !== 0,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

/**
 * Extends a wrapping counter (16-bit sequence numbers, 32-bit timestamps) to a number that
 * keeps counting: each value is placed nearest to the previous one.
 */
export class Unwrapper {
  private readonly range: number;
  private last: number | null = null;

  constructor(bits: 16 | 32) {
    this.range = 2 ** bits;
  }

  /** Where a value lies, without moving the reference (a report's timestamp, say). */
  peek(value: number): number {
    if (this.last === null) return value;
    return this.place(value);
  }

  unwrap(value: number): number {
    if (this.last === null) {
      this.last = value;
      return value;
    }
    const candidate = this.place(value);
    // Only a step forward moves the reference: a late packet must not drag it back.
    if (candidate > this.last) this.last = candidate;
    return candidate;
  }

  private place(value: number): number {
    const last = this.last!;
    const base = last - (((last % this.range) + this.range) % this.range);
    let candidate = base + value;
    if (candidate - last > this.range / 2) candidate -= this.range;
    else if (last - candidate > this.range / 2) candidate += this.range;
    return candidate;
  }
}
