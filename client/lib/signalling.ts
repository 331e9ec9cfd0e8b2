// Typed Socket.IO signalling: one socket per room page, and a request helper that turns
// every acknowledged request into a Result (it never throws for protocol problems).
import { io, type Socket } from 'socket.io-client';
import {
  SESSION_ROUTING_PARAM,
  type ClientToServerEvents,
  type ErrorCode,
  type RequestName,
  type RequestPayload,
  type ReplyTypes,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';

export type SignallingSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Codes produced on this side of the wire, in addition to the server's ErrorCode set. */
export type ClientErrorCode = 'TIMEOUT' | 'DISCONNECTED';

export interface RequestError {
  code: ErrorCode | ClientErrorCode;
  message: string;
}

export type RequestResult<T> = { ok: true; data: T } | { ok: false; error: RequestError };

export const REQUEST_TIMEOUT_MS = 10_000;

/** Opens the signalling socket for one participant (cookie is sent with the upgrade). */
export function connectSignalling(participantId: string, sessionId?: string): SignallingSocket {
  return io({
    auth: { participantId },
    // For a balancer in front of several studio nodes: a session's people meet on one node
    // (deploy/haproxy.cfg routes by it). The server refuses one that is not the participant's.
    ...(sessionId ? { query: { [SESSION_ROUTING_PARAM]: sessionId } } : {}),
    transports: ['websocket'],
    // Reconnect for as long as the page is open; the room shows 'reconnecting' meanwhile.
    reconnection: true,
    reconnectionDelay: 500,
    reconnectionDelayMax: 5_000,
  });
}

// The typed emit of Socket.IO cannot be called with a generic event name, so requests go
// through this narrow structural view of the socket.
interface AckEmitter {
  timeout(ms: number): {
    emit(event: string, payload: unknown, ack: (err: Error | null, result: unknown) => void): void;
  };
}

function isResult(value: unknown): value is { ok: boolean; data?: unknown; error?: RequestError } {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

/**
 * Sends one request and waits (at most `timeoutMs`) for its acknowledgement.
 * Requests are not buffered while disconnected: they fail at once with DISCONNECTED,
 * because the whole join flow is re-run after a reconnect anyway.
 */
export function request<N extends RequestName>(
  socket: SignallingSocket,
  name: N,
  payload: RequestPayload<N>,
  timeoutMs: number = REQUEST_TIMEOUT_MS,
): Promise<RequestResult<ReplyTypes[N]>> {
  if (!socket.connected) {
    return Promise.resolve({ ok: false, error: { code: 'DISCONNECTED', message: `Not connected (request "${name}")` } });
  }
  return new Promise((resolve) => {
    (socket as unknown as AckEmitter).timeout(timeoutMs).emit(name, payload, (err, result) => {
      if (err) {
        resolve({
          ok: false,
          error: socket.connected
            ? { code: 'TIMEOUT', message: `No reply to "${name}" within ${timeoutMs / 1000} s` }
            : { code: 'DISCONNECTED', message: `Connection lost during "${name}"` },
        });
      } else if (!isResult(result)) {
        resolve({ ok: false, error: { code: 'INTERNAL', message: `Malformed reply to "${name}"` } });
      } else if (result.ok) {
        resolve({ ok: true, data: result.data as ReplyTypes[N] });
      } else {
        resolve({
          ok: false,
          error: result.error ?? { code: 'INTERNAL', message: `Request "${name}" failed` },
        });
      }
    });
  });
}
