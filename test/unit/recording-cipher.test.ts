// The at-rest format of recordings: ranges decrypt to exactly the plaintext slice, and any
// alteration (a flipped bit, reordered or dropped chunks, a cut-short file, another file's key,
// the wrong master key) is an error, never altered bytes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHUNK_OVERHEAD,
  CHUNK_SIZE,
  EncryptedAppender,
  HEADER_BYTES,
  RecordingCryptoError,
  RecordingMasterKey,
  decryptToBuffer,
  encryptBuffer,
  encryptInPlace,
  encryptedSize,
  openDecrypting,
  plaintextSize,
  type ByteRange,
} from '../../server/recording/recording-cipher.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-cipher-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const key = new RecordingMasterKey(randomBytes(32));
let n = 0;
const fileWith = (bytes: Buffer): string => {
  const file = path.join(dir, `f${n++}.bin`);
  fs.writeFileSync(file, bytes);
  return file;
};

async function read(file: string, range?: ByteRange, k = key): Promise<Buffer> {
  const { stream } = await openDecrypting(file, k, range);
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** A small deterministic generator, so a failing range can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('recording encryption', () => {
  it('leaves no WebM on disk, and sizes follow the chunk layout', async () => {
    const webm = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(3 * CHUNK_SIZE + 123)]);
    const file = fileWith(webm);
    await encryptInPlace(file, key);
    const disk = fs.readFileSync(file);
    expect(disk.subarray(0, 8).toString('latin1')).toBe('SSRECENC');
    expect(disk.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))).toBe(false);
    expect(disk.includes(webm.subarray(100, 132))).toBe(false);
    expect(disk.length).toBe(encryptedSize(webm.length));
    expect(disk.length).toBe(HEADER_BYTES + webm.length + 4 * CHUNK_OVERHEAD);
    expect(plaintextSize(disk.length, CHUNK_SIZE)).toBe(webm.length);
    expect((await read(file)).equals(webm)).toBe(true);
  });

  it('returns exactly the plaintext slice for 400 random ranges, and every chunk boundary', async () => {
    for (const size of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 5 * CHUNK_SIZE + 777]) {
      const plain = randomBytes(size);
      const file = fileWith(encryptBuffer(plain, key));
      expect((await read(file)).equals(plain), `whole of ${size}`).toBe(true);
      if (size === 0) continue;
      for (let b = 0; b <= size; b += CHUNK_SIZE) {
        for (const start of [b - 1, b, b + 1]) {
          for (const end of [b - 1, b, b + 1, size - 1]) {
            if (start < 0 || end < start || end >= size) continue;
            expect((await read(file, { start, end })).equals(plain.subarray(start, end + 1)), `${start}-${end} of ${size}`).toBe(true);
          }
        }
      }
    }
    const plain = randomBytes(7 * CHUNK_SIZE + 4321);
    const file = fileWith(encryptBuffer(plain, key));
    const random = rng(15);
    for (let i = 0; i < 400; i++) {
      const start = Math.floor(random() * plain.length);
      const end = start + Math.floor(random() * Math.min(plain.length - start, random() < 0.5 ? 300 : 3 * CHUNK_SIZE));
      expect((await read(file, { start, end })).equals(plain.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('refuses ranges outside the file', async () => {
    const file = fileWith(encryptBuffer(randomBytes(1000), key));
    await expect(read(file, { start: 1000, end: 1000 })).rejects.toThrow(RecordingCryptoError);
    await expect(read(file, { start: 10, end: 5 })).rejects.toThrow(RecordingCryptoError);
  });

  it('a flipped bit in any chunk is an error, not garbage', async () => {
    const plain = randomBytes(3 * CHUNK_SIZE + 10);
    const sealed = encryptBuffer(plain, key);
    for (const at of [HEADER_BYTES + 20, HEADER_BYTES + CHUNK_SIZE + CHUNK_OVERHEAD + 5000, sealed.length - 1, sealed.length - 20]) {
      const tampered = Buffer.from(sealed);
      tampered[at]! ^= 0x01;
      const file = fileWith(tampered);
      // Reading the whole: the stream fails at the altered chunk, after the good ones only.
      await expect(read(file), `bit at ${at}`).rejects.toThrow(/does not authenticate/);
    }
    // A range that does not touch the altered chunk still reads (chunks stand alone).
    const tampered = Buffer.from(sealed);
    tampered[sealed.length - 1]! ^= 0x01;
    const file = fileWith(tampered);
    expect((await read(file, { start: 0, end: 99 })).equals(plain.subarray(0, 100))).toBe(true);
  });

  it('a header change, swapped chunks, a dropped last chunk and a cut are refused', async () => {
    const plain = randomBytes(3 * CHUNK_SIZE + 10);
    const sealed = encryptBuffer(plain, key);
    const record = CHUNK_SIZE + CHUNK_OVERHEAD;
    const fileId = Buffer.from(sealed);
    fileId[20]! ^= 0xff;
    await expect(read(fileWith(fileId))).rejects.toThrow(/header was altered/);
    const swapped = Buffer.concat([sealed.subarray(0, HEADER_BYTES), sealed.subarray(HEADER_BYTES + record, HEADER_BYTES + 2 * record), sealed.subarray(HEADER_BYTES, HEADER_BYTES + record), sealed.subarray(HEADER_BYTES + 2 * record)]);
    await expect(read(fileWith(swapped))).rejects.toThrow(/chunk 0 does not authenticate/);
    const dropped = sealed.subarray(0, HEADER_BYTES + 3 * record);
    await expect(read(fileWith(dropped))).rejects.toThrow(/chunk 2 does not authenticate/);
    await expect(read(fileWith(sealed.subarray(0, sealed.length - 5)))).rejects.toThrow(/does not authenticate/);
    await expect(read(fileWith(sealed.subarray(0, HEADER_BYTES + 10)))).rejects.toThrow(/cut short/);
    // Another file's chunk under this file's header (same master key): refused.
    const other = encryptBuffer(randomBytes(3 * CHUNK_SIZE + 10), key);
    const mixed = Buffer.concat([sealed.subarray(0, HEADER_BYTES + record), other.subarray(HEADER_BYTES + record)]);
    await expect(read(fileWith(mixed))).rejects.toThrow(/chunk 1 does not authenticate/);
  });

  it('the wrong master key is named as such; a rewrapped file reads under the new key only', async () => {
    const plain = randomBytes(5000);
    const file = fileWith(encryptBuffer(plain, key));
    const other = new RecordingMasterKey(randomBytes(32));
    await expect(read(file, undefined, other)).rejects.toThrow(/encrypted under master key [0-9a-f]{16}, not the configured key/);
    const bytes = fs.readFileSync(file);
    const rewrapped = Buffer.concat([other.rewrap(bytes.subarray(0, HEADER_BYTES), key), bytes.subarray(HEADER_BYTES)]);
    fs.writeFileSync(file, rewrapped);
    expect((await read(file, undefined, other)).equals(plain)).toBe(true);
    await expect(read(file)).rejects.toThrow(/not the configured key/);
  });

  it('an appended file equals the concatenation of its appends; a rolled-back append leaves it as it was', async () => {
    const file = path.join(dir, 'appended.bin');
    const random = rng(7);
    let plain = Buffer.alloc(0);
    for (let i = 0; i < 12; i++) {
      const add = randomBytes(Math.floor(random() * 2.5 * CHUNK_SIZE) + 1);
      const appender = EncryptedAppender.open(file, key, plain.length);
      // Written in uneven pieces, as a request body arrives.
      for (let at = 0; at < add.length; at += 7777) appender.write(add.subarray(at, at + 7777));
      appender.finish();
      plain = Buffer.concat([plain, add]);
      expect(fs.statSync(file).size).toBe(encryptedSize(plain.length));
      expect((await decryptToBuffer(file, key)).equals(plain), `after append ${i}`).toBe(true);
    }
    const before = fs.readFileSync(file);
    const failed = EncryptedAppender.open(file, key, plain.length);
    failed.write(randomBytes(3 * CHUNK_SIZE));
    failed.rollback(false);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(`${file}.undo`)).toBe(false);
    // A crash after the data was written but before the caller stored the new length: the
    // next append starts from the stored length.
    const crashed = EncryptedAppender.open(file, key, plain.length);
    crashed.write(randomBytes(CHUNK_SIZE + 5));
    crashed.finish();
    const next = EncryptedAppender.open(file, key, plain.length);
    next.write(Buffer.from('more'));
    next.finish();
    expect((await decryptToBuffer(file, key)).equals(Buffer.concat([plain, Buffer.from('more')]))).toBe(true);
    // A crash in the middle of an append (undo record left): the next open restores first.
    const middle = EncryptedAppender.open(file, key, plain.length + 4);
    middle.write(randomBytes(2 * CHUNK_SIZE));
    const beforeMiddle = Buffer.concat([plain, Buffer.from('more')]);
    expect(fs.existsSync(`${file}.undo`)).toBe(true);
    const resumed = EncryptedAppender.open(file, key, beforeMiddle.length);
    resumed.finish();
    expect((await decryptToBuffer(file, key)).equals(beforeMiddle)).toBe(true);
  });

  it('refuses master keys that are not 32 bytes', () => {
    expect(() => new RecordingMasterKey(randomBytes(16))).toThrow(/32 bytes/);
  });
});
