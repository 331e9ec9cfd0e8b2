// The recorder's pure parts (media/recording/rtp/): RTP parsing, sequence and timestamp
// unwrapping, putting packets back in order, VP8 frames from RTP payloads, the stream clock
// with sender reports and restarts, and the WebM stream, read back by ffprobe.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReorderBuffer } from '../../media/recording/rtp/reorder-buffer.ts';
import { RtpClock } from '../../media/recording/rtp/rtp-clock.ts';
import { parseRtp, Unwrapper, type RtpPacket } from '../../media/recording/rtp/rtp-packet.ts';
import { MAX_FRAME_BYTES, Vp8Assembler } from '../../media/recording/rtp/vp8-frames.ts';
import { webmCluster, webmHeader, type WebmBlock } from '../../media/recording/rtp/webm-writer.ts';

function rtp(seq: number, ts: number, payload: Buffer, opts: { marker?: boolean; extensionWords?: number; padding?: number } = {}): Buffer {
  const ext = opts.extensionWords ?? 0;
  const head = Buffer.alloc(12 + (ext ? 4 + 4 * ext : 0));
  head[0] = 0x80 | (ext ? 0x10 : 0) | (opts.padding ? 0x20 : 0);
  head[1] = (opts.marker ? 0x80 : 0) | 96;
  head.writeUInt16BE(seq & 0xffff, 2);
  head.writeUInt32BE(ts >>> 0, 4);
  head.writeUInt32BE(1234, 8);
  if (ext) head.writeUInt16BE(ext, 14);
  const pad = opts.padding ? Buffer.concat([Buffer.alloc(opts.padding - 1), Buffer.from([opts.padding])]) : Buffer.alloc(0);
  return Buffer.concat([head, payload, pad]);
}

describe('RTP packets', () => {
  it('reads the header past extensions and padding, and refuses what does not fit', () => {
    const p = parseRtp(rtp(7, 90_000, Buffer.from('abc'), { marker: true, extensionWords: 2, padding: 4 }))!;
    expect(p).toMatchObject({ sequenceNumber: 7, timestamp: 90_000, marker: true, payloadType: 96, ssrc: 1234 });
    expect(p.payload.toString()).toBe('abc');
    expect(parseRtp(Buffer.alloc(8))).toBeNull();
    const lying = rtp(1, 1, Buffer.from('x'), { extensionWords: 1 });
    lying.writeUInt16BE(500, 14); // an extension longer than the packet
    expect(parseRtp(lying)).toBeNull();
    expect(parseRtp(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull(); // version 1
  });

  it('keeps counting across a wrap, and places a late value behind without moving on', () => {
    const u = new Unwrapper(16);
    expect([65534, 65535, 0, 1].map((v) => u.unwrap(v))).toEqual([65534, 65535, 65536, 65537]);
    expect(u.unwrap(65535)).toBe(65535); // late
    expect(u.unwrap(2)).toBe(65538);
  });
});

describe('reorder buffer', () => {
  const packet = (seq: number): RtpPacket => ({ payloadType: 96, marker: false, sequenceNumber: seq, timestamp: 0, ssrc: 1, payload: Buffer.from([seq & 0xff]) });
  const seqs = (out: ReturnType<ReorderBuffer['push']>): Array<number | 'gap'> => out.map((r) => (r.gap ? 'gap' : r.arrived.packet.sequenceNumber));

  it('releases packets in order, waits for a late one, and gives up a hole after the hold', () => {
    const b = new ReorderBuffer(100);
    expect(seqs(b.push({ packet: packet(65535), arrivalMs: 0 }))).toEqual([65535]);
    expect(seqs(b.push({ packet: packet(1), arrivalMs: 10 }))).toEqual([]); // 0 missing
    expect(seqs(b.push({ packet: packet(0), arrivalMs: 20 }))).toEqual([0, 1]); // the retransmission
    expect(seqs(b.push({ packet: packet(0), arrivalMs: 25 }))).toEqual([]); // a duplicate
    expect(seqs(b.push({ packet: packet(3), arrivalMs: 30 }))).toEqual([]); // 2 missing
    expect(seqs(b.release(120))).toEqual([]);
    expect(seqs(b.release(131))).toEqual(['gap', 3]);
    expect(seqs(b.push({ packet: packet(2), arrivalMs: 140 }))).toEqual([]); // too late now
  });

  it('starts afresh when the sender restarts its sequence numbers, backwards or forwards', () => {
    const b = new ReorderBuffer(100);
    for (let seq = 5000; seq < 5010; seq++) b.push({ packet: packet(seq), arrivalMs: seq });
    expect(seqs(b.push({ packet: packet(5011), arrivalMs: 5011 }))).toEqual([]); // 5010 missing, held
    expect(seqs(b.push({ packet: packet(17), arrivalMs: 5020 }))).toEqual(['gap', 5011, 'gap', 17]);
    expect(seqs(b.push({ packet: packet(18), arrivalMs: 5021 }))).toEqual([18]);
    expect(seqs(b.push({ packet: packet(40_000), arrivalMs: 5022 }))).toEqual(['gap', 40_000]);
  });
});

describe('VP8 frames', () => {
  // A keyframe's first bytes: frame tag (bit 0 clear), start code, 640x360.
  const keyframe = Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa, 0xbb]);
  const interframe = Buffer.from([0x11, 0x02, 0x00, 0xcc]);
  const start = (data: Buffer): Buffer => Buffer.concat([Buffer.from([0x10]), data]);
  const middle = (data: Buffer): Buffer => Buffer.concat([Buffer.from([0x00]), data]);

  it('assembles frames across packets, reads a keyframe’s size, and drops what follows a loss until a keyframe', () => {
    const a = new Vp8Assembler();
    expect(a.push(start(interframe), 1, true)).toBeNull(); // nothing before the first keyframe
    expect(a.push(start(keyframe.subarray(0, 6)), 2, false)).toBeNull();
    const frame = a.push(middle(keyframe.subarray(6)), 2, true)!;
    expect(frame).toMatchObject({ timestamp: 2, keyframe: true, width: 640, height: 360 });
    expect(frame.data.equals(keyframe)).toBe(true);
    // An extended descriptor (X, I with a 15-bit picture id) is skipped too.
    const extended = Buffer.concat([Buffer.from([0x90, 0x80, 0x81, 0x23]), interframe]);
    expect(a.push(extended, 3, true)?.data.equals(interframe)).toBe(true);
    a.lost();
    expect(a.needsKeyframe).toBe(true);
    expect(a.push(start(interframe), 4, true)).toBeNull();
    expect(a.push(start(keyframe), 5, true)?.keyframe).toBe(true);
    expect(a.needsKeyframe).toBe(false);
  });

  it('gives up a frame that never ends before it grows past the cap', () => {
    const a = new Vp8Assembler();
    const chunk = Buffer.alloc(1200);
    a.push(start(keyframe), 1, false);
    for (let i = 0; i * 1200 <= MAX_FRAME_BYTES; i++) a.push(middle(chunk), 1, false);
    expect(a.needsKeyframe).toBe(true);
    // The marker after the cap ends nothing: the frame was dropped.
    expect(a.push(middle(chunk), 1, true)).toBeNull();
  });
});

describe('stream clock', () => {
  it('maps RTP time to the sender’s wall clock by its report, before and after the report', () => {
    const c = new RtpClock(90_000);
    const t0 = c.at(4_294_000_000, 1000);
    const ntpSec = 2_208_988_800 + 1_700_000_000;
    c.takeReport(ntpSec, 2 ** 31, 4_294_000_000 + 9000); // 100 ms later on the RTP clock = x.5 s
    expect(c.senderMsOf(t0)).toBeCloseTo(1_700_000_000_500 - 100, 6);
    // Across the 32-bit wrap, 1 s later.
    const t1 = c.at((4_294_000_000 + 90_000) % 2 ** 32, 2000);
    expect(t1 - t0).toBeCloseTo(1000, 6);
    expect(c.senderMsOf(t1)).toBeCloseTo(1_700_000_000_500 + 900, 6);
  });

  it('carries on by the arrival clock when the sender restarts its timestamps, and drops the old report', () => {
    const c = new RtpClock(48_000);
    c.at(1_000_000, 0);
    const before = c.at(1_000_000 + 48_000, 1000);
    c.takeReport(2_208_988_800 + 10, 0, 1_000_000);
    expect(c.hasReport).toBe(true);
    const after = c.at(5, 1020); // a restart 20 ms later
    expect(after - before).toBeCloseTo(20, 6);
    expect(c.restarts).toBe(1);
    expect(c.hasReport).toBe(false);
    expect(c.at(5 + 960, 1040) - after).toBeCloseTo(20, 6);
  });

  it('takes a stall (packets arriving long after their time) for a stall, not a restart', () => {
    const c = new RtpClock(90_000);
    c.at(0, 0);
    c.takeReport(2_208_988_800 + 10, 0, 0);
    expect(c.at(3000, 5000)).toBeCloseTo(33.33, 1); // 33 ms of capture, 5 s late
    expect(c.restarts).toBe(0);
    expect(c.hasReport).toBe(true);
  });
});

describe('WebM stream', () => {
  it('writes VP8 frames on the timeline given, which ffprobe reads back exactly and ffmpeg decodes without a word', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-webm-'));
    const ivf = path.join(dir, 'clip.ivf');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '2', '-c:v', 'libvpx', '-g', '10', '-f', 'ivf', '-y', ivf]);
    expect(made.status).toBe(0);
    // IVF: a 32-byte header, then frames each with a 12-byte header (size, timestamp).
    const data = fs.readFileSync(ivf);
    const frames: Buffer[] = [];
    for (let pos = data.readUInt16LE(6); pos + 12 <= data.length; ) {
      const size = data.readUInt32LE(pos);
      frames.push(data.subarray(pos + 12, pos + 12 + size));
      pos += 12 + size;
    }
    expect(frames.length).toBe(20);
    // Uneven times, as a camera sends them; a cluster per keyframe or 250 ms.
    const times = frames.map((_, i) => i * 100 + (i % 3) * 7);
    const tracks = { video: { width: 320, height: 240 } };
    const blocks: WebmBlock[] = frames.map((f, i) => ({ track: 'video', timeMs: times[i]!, keyframe: (f[0]! & 1) === 0, data: f }));
    const out = [webmHeader(tracks)];
    for (let i = 0; i < blocks.length; i += 3) out.push(webmCluster(tracks, blocks.slice(i, i + 3)));
    const file = path.join(dir, 'out.webm');
    fs.writeFileSync(file, Buffer.concat(out));
    const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    expect(probe.stdout.trim().split('\n').map(Number)).toEqual(times);
    const decode = spawnSync('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(decode.status).toBe(0);
    expect(decode.stderr.trim()).toBe('');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
