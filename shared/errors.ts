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
