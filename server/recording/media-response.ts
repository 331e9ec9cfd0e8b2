// Serves a recording's plaintext over HTTP from its encrypted file: a single byte range gives
// 206 with Content-Range (only the chunks it covers are read and decrypted), a range past the
// end 416 with `Content-Range: bytes */size`, no usable Range the whole file (200); HEAD
// answers the headers alone. A chunk that fails to authenticate mid-stream aborts the response
// (the player sees a broken transfer, never altered bytes).
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log.ts';
import { sendApiError } from '../http/app.ts';
import { RecordingCryptoError, RecordingNotSealed, type ByteRange, type OpenedRecording } from './recording-cipher.ts';

export type RangeRequest = { kind: 'whole' } | { kind: 'unsatisfiable' } | { kind: 'range'; range: ByteRange };

/**
 * What a Range header asks of a representation of `size` bytes (RFC 9110 §14): a header that
 * is absent, malformed, not in bytes or asks for several ranges is ignored (the whole file);
 * a single satisfiable range is clipped to the end.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: 'whole' };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (!Number.isSafeInteger(suffix)) return { kind: 'whole' };
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start, end: Math.min(end, size - 1) } };
}

/** Answers `req` with the recording `open` decrypts (open takes a function of the plaintext size). */
export async function sendRecording(
  req: Request,
  res: Response,
  open: (range: (size: number) => ByteRange | null) => Promise<OpenedRecording>,
  log: Logger,
): Promise<void> {
  let asked = { kind: 'whole' } as RangeRequest;
  let opened: OpenedRecording;
  try {
    opened = await open((size) => {
      asked = parseRange(req.headers.range, size);
      return asked.kind === 'range' ? asked.range : null;
    });
  } catch (error) {
    if (error instanceof RecordingNotSealed) return sendApiError(res, 409, 'CONFLICT', 'the recording is still being written');
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return sendApiError(res, 404, 'NOT_FOUND', 'recording file unavailable');
    log.error({ err: (error as Error).message }, error instanceof RecordingCryptoError ? 'RECORDING DOES NOT DECRYPT' : 'recording could not be read');
    return sendApiError(res, 500, 'INTERNAL', 'the recording could not be read');
  }
  const { size, stream } = opened;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', 'video/webm');
  res.setHeader('Cache-Control', 'private, no-store');
  const range = asked.kind === 'range' ? asked.range : null;
  if (asked.kind === 'unsatisfiable') {
    stream.destroy();
    res.setHeader('Content-Range', `bytes */${size}`);
    return sendApiError(res, 416, 'INVALID_REQUEST', 'range not satisfiable');
  }
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  } else res.status(200);
  res.setHeader('Content-Length', String(range ? range.end - range.start + 1 : size));
  if (req.method === 'HEAD') {
    stream.destroy();
    res.end();
    return;
  }
  try {
    await pipeline(stream, res);
  } catch (error) {
    // The client went away (seeking aborts requests), or a chunk failed to authenticate.
    if (error instanceof RecordingCryptoError) log.error({ err: error.message }, 'RECORDING DOES NOT DECRYPT');
    res.destroy();
  }
}
