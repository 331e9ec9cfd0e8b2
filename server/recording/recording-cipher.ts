// Recordings at rest: AES-256-GCM, a random key per file wrapped (AES-256-GCM) by the master
// key, the plaintext cut into 64 KiB chunks that each carry their own nonce and tag, so a range
// request decrypts only the chunks it touches.
//
// File layout (all integers big-endian):
//   header (100 bytes)
//     0  8  magic "SSRECENC"
//     8  1  format version (1)
//     9  3  zero
//    12  4  plaintext chunk size
//    16 16  file id (random)
//    32  8  fingerprint of the master key that wrapped the file key
//    40 60  wrapped file key: nonce 12 | encrypted key 32 | tag 16 (AAD: header bytes 0–31)
//   chunks, chunk i at 100 + i × (chunk size + 28): nonce 12 | ciphertext | tag 16
//     AAD = header bytes 0–31 | u64 i | u8 (1 for the last chunk, else 0)
// Every chunk but the last holds exactly one chunk size of plaintext; the last holds 0 to chunk
// size bytes (an empty recording is one empty last chunk). Binding the index and the last-chunk
// flag means chunks cannot be moved, swapped between files, dropped from the end or the file
// cut short without the read failing. Chunk nonces are random rather than derived from the
// index: a backup recording grows by appends, which rewrite its last chunk, and a derived nonce
// would then be used twice under one key. The fixed header part (bytes 0–31) is what the chunks
// and the wrapped key authenticate; the fingerprint and wrapped key change on key rotation.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';

export const MAGIC = Buffer.from('SSRECENC', 'latin1');
const VERSION = 1;
export const CHUNK_SIZE = 64 * 1024;
export const HEADER_BYTES = 100;
const FIXED_BYTES = 32;
const NONCE = 12;
const TAG = 16;
export const CHUNK_OVERHEAD = NONCE + TAG;

export class RecordingCryptoError extends Error {
  override readonly name = 'RecordingCryptoError';
}

/** A recording whose file is not (yet) in the encrypted format: still being recorded, or a
 *  file from before encryption that start-up has not reached yet. */
export class RecordingNotSealed extends Error {
  override readonly name = 'RecordingNotSealed';
}

/** The master key: wraps and unwraps per-file keys. */
export class RecordingMasterKey {
  readonly fingerprint: Buffer;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RecordingCryptoError(`a recording master key is 32 bytes, not ${key.length}`);
    this.#key = Buffer.from(key);
    this.fingerprint = createHmac('sha256', key).update('simstudio recording master key fingerprint').digest().subarray(0, 8);
  }

  get fingerprintHex(): string {
    return this.fingerprint.toString('hex');
  }

  /** A new header with a fresh file key; returns both. */
  newHeader(chunkSize = CHUNK_SIZE): { header: Buffer; fileKey: Buffer } {
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt8(VERSION, 8);
    header.writeUInt32BE(chunkSize, 12);
    randomBytes(16).copy(header, 16);
    const fileKey = randomBytes(32);
    this.writeWrapped(header, fileKey);
    return { header, fileKey };
  }

  /** The same header with the file key wrapped by this key (key rotation). */
  rewrap(header: Buffer, from: RecordingMasterKey): Buffer {
    const fileKey = from.unwrap(header);
    const out = Buffer.from(header);
    this.writeWrapped(out, fileKey);
    return out;
  }

  unwrap(header: Buffer): Buffer {
    const parsed = parseHeader(header);
    if (!parsed.fingerprint.equals(this.fingerprint)) {
      throw new RecordingCryptoError(
        `recording was encrypted under master key ${parsed.fingerprint.toString('hex')}, not the configured key ${this.fingerprintHex} (SIMSTUDIO_RECORDING_KEY or keys/recording-master.key)`,
      );
    }
    const wrapped = header.subarray(40, 100);
    const d = createDecipheriv('aes-256-gcm', this.#key, wrapped.subarray(0, NONCE));
    d.setAAD(header.subarray(0, FIXED_BYTES));
    d.setAuthTag(wrapped.subarray(NONCE + 32));
    try {
      return Buffer.concat([d.update(wrapped.subarray(NONCE, NONCE + 32)), d.final()]);
    } catch {
      throw new RecordingCryptoError('the recording file key does not authenticate: the header was altered');
    }
  }

  private writeWrapped(header: Buffer, fileKey: Buffer): void {
    const nonce = randomBytes(NONCE);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    c.setAAD(header.subarray(0, FIXED_BYTES));
    const body = Buffer.concat([c.update(fileKey), c.final()]);
    this.fingerprint.copy(header, 32);
    Buffer.concat([nonce, body, c.getAuthTag()]).copy(header, 40);
  }
}

export interface ParsedHeader {
  chunkSize: number;
  fingerprint: Buffer;
}

export function isEncrypted(head: Buffer): boolean {
  return head.length >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC);
}

export function parseHeader(header: Buffer): ParsedHeader {
  if (header.length < HEADER_BYTES || !isEncrypted(header)) throw new RecordingCryptoError('not an encrypted recording (no SimStudio header)');
  if (header.readUInt8(8) !== VERSION) throw new RecordingCryptoError(`unknown recording format version ${header.readUInt8(8)}`);
  const chunkSize = header.readUInt32BE(12);
  if (chunkSize < 16 || chunkSize > 16 * 1024 * 1024) throw new RecordingCryptoError(`implausible chunk size ${chunkSize}`);
  return { chunkSize, fingerprint: header.subarray(32, 40) };
}

/** Encrypted size of `plain` bytes. */
export function encryptedSize(plain: number, chunkSize = CHUNK_SIZE): number {
  const chunks = Math.max(1, Math.ceil(plain / chunkSize));
  return HEADER_BYTES + plain + chunks * CHUNK_OVERHEAD;
}

/** Plaintext size of an encrypted file of `total` bytes; null if no layout gives that size. */
export function plaintextSize(total: number, chunkSize: number): number | null {
  const body = total - HEADER_BYTES;
  if (body < CHUNK_OVERHEAD) return null;
  const record = chunkSize + CHUNK_OVERHEAD;
  const full = Math.floor(body / record);
  const rest = body - full * record;
  if (rest === 0) return full * chunkSize;
  if (rest < CHUNK_OVERHEAD) return null;
  return full * chunkSize + rest - CHUNK_OVERHEAD;
}

function chunkAad(header: Buffer, index: number, last: boolean): Buffer {
  const aad = Buffer.alloc(FIXED_BYTES + 9);
  header.copy(aad, 0, 0, FIXED_BYTES);
  aad.writeBigUInt64BE(BigInt(index), FIXED_BYTES);
  aad.writeUInt8(last ? 1 : 0, FIXED_BYTES + 8);
  return aad;
}

export function sealChunk(fileKey: Buffer, header: Buffer, index: number, last: boolean, plain: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', fileKey, nonce);
  c.setAAD(chunkAad(header, index, last));
  const body = c.update(plain);
  c.final();
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

export function openChunk(fileKey: Buffer, header: Buffer, index: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < CHUNK_OVERHEAD) throw new RecordingCryptoError(`recording chunk ${index} is cut short`);
  const d = createDecipheriv('aes-256-gcm', fileKey, sealed.subarray(0, NONCE));
  d.setAAD(chunkAad(header, index, last));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
  } catch {
    throw new RecordingCryptoError(`recording chunk ${index} does not authenticate: the file was altered, reordered or cut short`);
  }
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

async function readExactlyAsync(handle: fs.promises.FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Whether a file on disk is in the encrypted format (false for a missing or empty file too). */
export function fileIsEncrypted(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    return isEncrypted(readExactly(fd, MAGIC.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** Where a file is encrypted before it replaces the plaintext (rename: all or nothing). */
export function sealingFile(file: string): string {
  return `${file}.enc-tmp`;
}

/**
 * Encrypts the plaintext file `source` into `temp` and flushes it to disk; the caller renames
 * it into place (a crash then leaves either the plaintext or the whole encrypted file).
 */
export async function encryptFile(source: string, temp: string, key: RecordingMasterKey): Promise<void> {
  const input = await fs.promises.open(source, 'r');
  const output = await fs.promises.open(temp, 'w', 0o600);
  try {
    const { header, fileKey } = key.newHeader();
    const chunkSize = CHUNK_SIZE;
    await output.write(header, 0, header.length, 0);
    let position = HEADER_BYTES;
    let index = 0;
    let current = await readExactlyAsync(input, chunkSize, 0);
    for (;;) {
      const next = current.length === chunkSize ? await readExactlyAsync(input, chunkSize, (index + 1) * chunkSize) : Buffer.alloc(0);
      const last = next.length === 0;
      const sealed = sealChunk(fileKey, header, index, last, current);
      await output.write(sealed, 0, sealed.length, position);
      position += sealed.length;
      if (last) break;
      current = next;
      index += 1;
    }
    await output.sync();
  } catch (error) {
    await output.close().catch(() => undefined);
    await input.close().catch(() => undefined);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  await output.close();
  await input.close();
}

/** Encrypts a plaintext file in place (through `sealingFile`, then a rename). */
export async function encryptInPlace(file: string, key: RecordingMasterKey): Promise<void> {
  await encryptFile(file, sealingFile(file), key);
  fs.renameSync(sealingFile(file), file);
}

/** Writes `plain` as a new encrypted file (tests, fixtures, small files). */
export function encryptBuffer(plain: Buffer, key: RecordingMasterKey): Buffer {
  const { header, fileKey } = key.newHeader();
  const parts = [header];
  const chunks = Math.max(1, Math.ceil(plain.length / CHUNK_SIZE));
  for (let i = 0; i < chunks; i++) parts.push(sealChunk(fileKey, header, i, i === chunks - 1, plain.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)));
  return Buffer.concat(parts);
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface OpenedRecording {
  /** Plaintext size. */
  size: number;
  /** The plaintext bytes asked for (the whole file without a range). */
  range: ByteRange | null;
  stream: Readable;
}

/**
 * A decrypting stream of a recording's plaintext (all of it, or `range`, inclusive bounds).
 * The header, the file key and the first chunk needed are checked before this resolves, so a
 * wrong key or an altered start is an error here rather than a broken stream; a later chunk
 * that fails to authenticate destroys the stream with a RecordingCryptoError (never garbage).
 */
export async function openDecrypting(file: string, key: RecordingMasterKey, range?: ByteRange | ((size: number) => ByteRange | null)): Promise<OpenedRecording> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const header = await readExactlyAsync(handle, HEADER_BYTES, 0);
    const { chunkSize } = parseHeader(header);
    const fileKey = key.unwrap(header);
    const total = (await handle.stat()).size;
    const size = plaintextSize(total, chunkSize);
    if (size === null) throw new RecordingCryptoError('the recording file is cut short (its size fits no chunk layout)');
    const wanted = typeof range === 'function' ? range(size) : (range ?? null);
    if (wanted && (wanted.start < 0 || wanted.end < wanted.start || wanted.end >= size)) throw new RecordingCryptoError(`range ${wanted.start}-${wanted.end} is outside 0-${size - 1}`);
    const lastChunk = Math.max(0, Math.ceil(size / chunkSize) - 1);
    const record = chunkSize + CHUNK_OVERHEAD;
    const readChunk = async (index: number): Promise<Buffer> => {
      const length = index === lastChunk ? total - HEADER_BYTES - index * record : record;
      const sealed = await readExactlyAsync(handle, length, HEADER_BYTES + index * record);
      return openChunk(fileKey, header, index, index === lastChunk, sealed);
    };
    const from = wanted?.start ?? 0;
    const to = wanted ? wanted.end + 1 : size; // exclusive
    const firstIndex = Math.floor(from / chunkSize);
    const endIndex = size === 0 ? 0 : Math.floor((to - 1) / chunkSize);
    const first = await readChunk(firstIndex);
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for (let i = firstIndex; i <= endIndex && to > from; i++) {
          const plain = i === firstIndex ? first : await readChunk(i);
          const base = i * chunkSize;
          yield plain.subarray(Math.max(0, from - base), Math.min(plain.length, to - base));
        }
      } finally {
        await handle.close();
      }
    }
    return { size, range: wanted, stream: Readable.from(chunks(), { objectMode: false }) };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** The whole plaintext of a small recording (tests, fixtures). */
export async function decryptToBuffer(file: string, key: RecordingMasterKey): Promise<Buffer> {
  const { stream } = await openDecrypting(file, key);
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/**
 * Appends plaintext to an encrypted file that grows over several requests (the lead observer's
 * backup recording). The file's committed plaintext length is what the caller's database says;
 * whatever a crash left after it is dropped. The last chunk is rewritten as data arrives (with
 * fresh nonces); before it is overwritten its old bytes go to `<file>.undo`, flushed, so that
 * `rollback()` — or the next open, after a crash — puts the committed state back exactly.
 */
export class EncryptedAppender {
  private readonly fd: number;
  private readonly header: Buffer;
  private readonly fileKey: Buffer;
  private readonly chunkSize: number;
  /** Index of the chunk being filled, and its plaintext so far. */
  private index: number;
  private tail: Buffer;
  private undone = false;
  private undoWritten = false;
  private readonly committedCipherBytes: number;
  private readonly undoFile: string;
  private readonly file: string;
  written = 0;

  private constructor(
    file: string,
    fd: number,
    header: Buffer,
    fileKey: Buffer,
    committed: number,
    tail: Buffer,
  ) {
    this.file = file;
    this.fd = fd;
    this.header = header;
    this.fileKey = fileKey;
    this.chunkSize = parseHeader(header).chunkSize;
    this.index = committed === 0 ? 0 : Math.floor((committed - 1) / this.chunkSize);
    this.tail = tail;
    this.committedCipherBytes = encryptedSize(committed, this.chunkSize);
    this.undoFile = `${file}.undo`;
  }

  /** Opens `file` holding `committed` plaintext bytes (a new file when it does not exist and committed is 0). */
  static open(file: string, key: RecordingMasterKey, committed: number): EncryptedAppender {
    restoreUndo(file);
    if (!fs.existsSync(file) || (committed === 0 && fs.statSync(file).size < HEADER_BYTES)) {
      if (committed !== 0) throw new RecordingCryptoError(`the recording file ${file} is missing`);
      const { header, fileKey } = key.newHeader();
      const fd = fs.openSync(file, 'w+', 0o600);
      fs.writeSync(fd, header, 0, header.length, 0);
      return new EncryptedAppender(file, fd, header, fileKey, 0, Buffer.alloc(0));
    }
    const fd = fs.openSync(file, 'r+');
    try {
      const header = readExactly(fd, HEADER_BYTES, 0);
      const { chunkSize } = parseHeader(header);
      const fileKey = key.unwrap(header);
      if (committed === 0) {
        fs.ftruncateSync(fd, HEADER_BYTES);
        return new EncryptedAppender(file, fd, header, fileKey, 0, Buffer.alloc(0));
      }
      const index = Math.floor((committed - 1) / chunkSize);
      const keep = committed - index * chunkSize;
      const record = chunkSize + CHUNK_OVERHEAD;
      const offset = HEADER_BYTES + index * record;
      const sealed = readExactly(fd, record, offset);
      // Committed, the chunk is the last one; after a crash past the commit it may be a full
      // chunk followed by more. Either way the committed bytes are its start (appends only).
      let plain: Buffer;
      try {
        plain = openChunk(fileKey, header, index, true, sealed);
      } catch {
        plain = openChunk(fileKey, header, index, false, sealed);
      }
      if (plain.length < keep) throw new RecordingCryptoError(`the recording file ${file} holds less than the ${committed} bytes recorded`);
      return new EncryptedAppender(file, fd, header, fileKey, committed, plain.subarray(0, keep));
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  private get record(): number {
    return this.chunkSize + CHUNK_OVERHEAD;
  }

  private saveUndo(): void {
    if (this.undoWritten) return;
    this.undoWritten = true;
    const offset = HEADER_BYTES + this.index * this.record;
    const old = readExactly(this.fd, this.committedCipherBytes - offset, offset);
    const entry = Buffer.alloc(8 + old.length);
    entry.writeBigUInt64BE(BigInt(offset), 0);
    old.copy(entry, 8);
    // Written whole under another name, then renamed: an undo record is complete or absent.
    const temp = `${this.undoFile}.tmp`;
    const ufd = fs.openSync(temp, 'w', 0o600);
    try {
      fs.writeSync(ufd, entry);
      fs.fsyncSync(ufd);
    } finally {
      fs.closeSync(ufd);
    }
    fs.renameSync(temp, this.undoFile);
  }

  /** Adds plaintext; full chunks followed by more data are written at once. */
  write(data: Buffer): void {
    if (data.length === 0) return;
    this.saveUndo();
    this.written += data.length;
    this.tail = this.tail.length === 0 ? Buffer.from(data) : Buffer.concat([this.tail, data]);
    while (this.tail.length > this.chunkSize) {
      const sealed = sealChunk(this.fileKey, this.header, this.index, false, this.tail.subarray(0, this.chunkSize));
      fs.writeSync(this.fd, sealed, 0, sealed.length, HEADER_BYTES + this.index * this.record);
      this.tail = this.tail.subarray(this.chunkSize);
      this.index += 1;
    }
  }

  /** Writes the last chunk, flushes, and forgets the undo record: the caller then commits the new length. */
  finish(): void {
    this.saveUndo();
    const sealed = sealChunk(this.fileKey, this.header, this.index, true, this.tail);
    const at = HEADER_BYTES + this.index * this.record;
    fs.writeSync(this.fd, sealed, 0, sealed.length, at);
    fs.ftruncateSync(this.fd, at + sealed.length);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.rmSync(this.undoFile, { force: true });
    this.undone = true;
  }

  /** Puts the file back as it was when opened (a new file is removed). */
  rollback(newFile: boolean): void {
    if (this.undone) return;
    this.undone = true;
    fs.closeSync(this.fd);
    if (newFile) {
      fs.rmSync(this.file, { force: true });
      fs.rmSync(this.undoFile, { force: true });
      return;
    }
    restoreUndo(this.file);
  }
}

/** Puts back the chunk bytes an interrupted append overwrote (see EncryptedAppender). */
export function restoreUndo(file: string): void {
  const undoFile = `${file}.undo`;
  if (!fs.existsSync(undoFile)) return;
  const entry = fs.readFileSync(undoFile);
  if (entry.length >= 8 && fs.existsSync(file)) {
    const offset = Number(entry.readBigUInt64BE(0));
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, entry, 8, entry.length - 8, offset);
      fs.ftruncateSync(fd, offset + entry.length - 8);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fs.rmSync(undoFile, { force: true });
}
