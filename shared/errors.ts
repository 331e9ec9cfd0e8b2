import type { ErrorCode, ProtocolError } from './protocol.ts';

/** Thrown inside request handlers; the transport boundary turns it into a typed error reply. */
export class ProtocolFailure extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolFailure';
    this.code = code;
  }

  toJSON(): ProtocolError {
    return { code: this.code, message: this.message };
  }
}

/** The closed set of codes an HTTP API error (`{error:{code,message}}`) can carry. */
export const API_ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INVALID_REQUEST',
  'CONFLICT',
  /** The body is larger than the route's limit (413). */
  'PAYLOAD_TOO_LARGE',
  /** The body's charset or content encoding is not one the studio reads (415). */
  'UNSUPPORTED_MEDIA_TYPE',
  /** Too many requests; try again later (429). */
  'RATE_LIMITED',
  /** The server's disk is too full to store this (507). */
  'INSUFFICIENT_STORAGE',
  'INTERNAL',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];
