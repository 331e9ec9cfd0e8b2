// The signalling protocol between browser and server, defined once for both sides.
// Requests are Socket.IO events with an acknowledgement callback; every payload is
// validated at the server boundary (the schemas: protocol-schemas.ts), and every reply is a
// Result. No schema library here: the room's page imports this on its way to the first picture.
import type { z } from 'zod';
import type { MediaKindSchema, MediaSourceSchema, requestSchemas, HandshakeAuthSchema } from './protocol-schemas.ts';
import type { Role } from './roles.ts';
import type { DayState } from './assessment.ts';

/** Bumped on any incompatible change; a client with another version is refused at join. */
export const PROTOCOL_VERSION = 1;

/** Largest accepted request payload (serialised JSON). SDP-derived parameters are a few kB. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Deepest accepted nesting of a request payload: mediasoup parameters are a few levels deep,
 *  and mediasoup's recursive checks run out of stack at a few thousand (found by the fuzzer). */
export const MAX_PAYLOAD_DEPTH = 32;

/** The closed set of error codes a reply can carry. */
export const ERROR_CODES = [
  'INVALID_PAYLOAD',
  'PAYLOAD_TOO_LARGE',
  'UNKNOWN_EVENT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'NOT_JOINED',
  'CONFLICT',
  'PROTOCOL_VERSION_MISMATCH',
  'MEDIA_ERROR',
  'RATE_LIMITED',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export type Result<T> = { ok: true; data: T } | { ok: false; error: ProtocolError };
export type MediaKind = z.infer<typeof MediaKindSchema>;
export type MediaSource = z.infer<typeof MediaSourceSchema>;

export type RequestName = keyof typeof requestSchemas;
export type RequestPayload<N extends RequestName> = z.infer<(typeof requestSchemas)[N]>;

/** Someone the client may know about. Candidates and actors never receive hidden roles. */
export interface PeerInfo {
  participantId: string;
  displayName: string;
  role: Role;
}

/** A remote media stream the client may consume. */
export interface ProducerInfo {
  producerId: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
}

export interface TransportOptions {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
  sctpParameters?: unknown;
}

export interface JoinReply {
  self: PeerInfo;
  sessionId: string;
  routerRtpCapabilities: unknown;
  /** Whether this participant sends camera and microphone in the current stage. */
  publishes: boolean;
  peers: PeerInfo[];
  producers: ProducerInfo[];
  /** TURN/STUN servers to pass to the transports (empty on the embedded default). */
  iceServers: IceServer[];
  /** When the join asked to receive: the receive transport, and consumers (already flowing
   *  once the transport connects; no resume needed) for those of `producers` that could be
   *  consumed. Any other producer is consumed the usual way. */
  recvTransport?: TransportOptions;
  consumers?: ConsumeReply[];
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface ConsumeReply {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: MediaKind;
  rtpParameters: unknown;
}

export interface ReplyTypes {
  join: JoinReply;
  createTransport: TransportOptions;
  connectTransport: Record<string, never>;
  restartIce: { iceParameters: unknown };
  produce: { producerId: string };
  closeProducer: Record<string, never>;
  consume: ConsumeReply;
  resumeConsumer: Record<string, never>;
  dayControl: DayState;
  clockSync: { serverNow: number };
  /** How many of the lead observer's and coordinator's pages were told. */
  signalLead: { delivered: number };
}

export type LeadSignalKind = RequestPayload<'signalLead'>['kind'];

/** An actor's signal, as the lead observer and coordinator receive it. */
export interface LeadSignal {
  from: PeerInfo;
  kind: LeadSignalKind;
  at: number;
}

export const LEAD_SIGNAL_TEXT: Record<LeadSignalKind, string> = {
  needPause: 'asks for a pause',
  technicalProblem: 'has a technical problem',
  ready: 'is ready',
};

/** The server recorder's state for a session, shown to everyone (failures prominently). */
export interface RecordingStatus {
  state: 'off' | 'recording' | 'restarting' | 'failed' | 'stopped';
  /** Plain words: what is happening, for people. */
  detail: string;
  phaseIndex: number | null;
  since: number;
}

/** Who is connected, as far as the receiving participant may know (waiting room, board). */
export interface PresenceInfo {
  connected: PeerInfo[];
  expected: PeerInfo[];
}

export type Ack<N extends RequestName> = (result: Result<ReplyTypes[N]>) => void;

export type ClientToServerEvents = {
  [N in RequestName]: (payload: RequestPayload<N>, ack: Ack<N>) => void;
};

// ---- notifications (server → client) ----

export type MediaResetReason = 'worker-died' | 'stage-changed';

export interface ServerToClientEvents {
  peerJoined: (peer: PeerInfo) => void;
  peerLeft: (peer: { participantId: string }) => void;
  newProducer: (producer: ProducerInfo) => void;
  producerClosed: (info: { producerId: string }) => void;
  consumerClosed: (info: { consumerId: string; producerId: string }) => void;
  /** The server's media for this session was rebuilt: drop transports and join again. */
  mediaReset: (info: { reason: MediaResetReason }) => void;
  /** The assessment day changed (also sent once on connection). Sessions without a day get none. */
  dayState: (state: DayState) => void;
  /** Whether the current phase is being recorded (also sent once on connection). */
  recording: (status: RecordingStatus) => void;
  /** Who is connected now (also sent once on connection). */
  presence: (presence: PresenceInfo) => void;
  /** To the lead observer and coordinator: an actor's signal. */
  leadSignal: (signal: LeadSignal) => void;
  /** This participant opened the session in another tab or window; this connection is closed. */
  sessionReplaced: () => void;
  /** This sign-in has ended (link withdrawn or reissued, signed out, person removed); the server closes the connection next. */
  signedOut: () => void;
  /** A message the server could not answer with an acknowledgement (no ack, unknown event). */
  protocolError: (error: ProtocolError & { event: string }) => void;
}
/** The Socket.IO query parameter naming the participant's session: what a balancer routes by. */
export const SESSION_ROUTING_PARAM = 'session';
export type HandshakeAuth = z.infer<typeof HandshakeAuthSchema>;
