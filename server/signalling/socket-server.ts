// Socket.IO signalling. This module is the transport boundary: it authenticates the
// handshake from the session cookie, validates every payload against the schemas in
// shared/protocol.ts, rate-limits, and maps every failure to a typed error reply.
// The media rules themselves live in media/room.ts.
import { isStorageError } from '../db/engine.ts';
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import {
  MAX_PAYLOAD_BYTES,
  MAX_PAYLOAD_DEPTH,
  PROTOCOL_VERSION,
  SESSION_ROUTING_PARAM,
  type ClientToServerEvents,
  type ErrorCode,
  type ProtocolError,
  type ReplyTypes,
  type RequestName,
  type RequestPayload,
  type Result,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';
import { HandshakeAuthSchema, REQUEST_NAMES, requestSchemas } from '../../shared/protocol-schemas.ts';
import type { PeerChannel, Room } from '../../media/room.ts';
import type { RoomRegistry } from '../../media/rooms.ts';
import { describeAuthFailure, ParticipantAuth, signInKey, type AuthProof } from '../auth/participant-auth.ts';
import { revalidateInSlices } from '../auth/revalidation.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import type { Logger } from '../log.ts';
import { LogBudget } from '../log-budget.ts';
import { originAllowed } from '../http/origin.ts';
import type { IceServer, PresenceInfo } from '../../shared/protocol.ts';
import type { AssessmentService } from '../assessment/assessment-service.ts';
import type { RecordingService } from '../recording/recording-service.ts';
import type { RecordingStatus } from '../../shared/protocol.ts';
import type { SessionsRepo } from '../db/sessions-repo.ts';
import { HIDDEN_ROLES, ROOM_ROLES, SCENARIO_STAGE } from '../../shared/roles.ts';

/** Messages per socket per second before RATE_LIMITED: everything a socket sends counts
 *  (requests, requests without an acknowledgement, unknown events). A join needs about ten. */
const MAX_REQUESTS_PER_SECOND = 50;
/** Messages over the limit (net of refill) after which the socket is cut off: a client this
 *  far over the limit is flooding, not bursting. */
const FLOOD_CUTOFF = 4 * MAX_REQUESTS_PER_SECOND;
/** An actor's signals to the lead observer: at most one per this many ms. */
const SIGNAL_INTERVAL_MS = 3000;
/** Log lines about refused messages per socket per minute; the rest are counted in one summary. */
const REFUSAL_LOG_LINES_PER_MINUTE = 10;

/** What other studio nodes may read of a connection (through the Redis adapter): plain data. */
interface SocketData {
  participant: Participant;
}

/** What only this node holds of a connection: live objects, and the sign-in's secret. */
interface HeldBySocket {
  /** What the sign-in rests on, checked again every few seconds (auth/revalidation.ts). */
  proof: AuthProof;
  room?: Room;
  channel?: PeerChannel;
  joinAudited?: boolean;
  /** When this connection last signalled the lead observer (actors). */
  lastSignalAt?: number;
}

type StudioSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type StudioServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface SignallingDeps {
  auth: ParticipantAuth;
  rooms: RoomRegistry;
  audit: AuditRepo;
  assessment: AssessmentService;
  sessions: SessionsRepo;
  recordings: RecordingService;
  iceServers: IceServer[];
  /** Web origins whose pages may connect (see server/http/origin.ts). */
  allowedOrigins: () => readonly string[];
  /** Why this participant may not join the room's media now (e.g. they have not accepted the
   *  privacy and recording notices), or undefined when they may. */
  admission?: (participant: Participant) => ProtocolFailure | undefined;
  log: Logger;
  /** Socket.IO's adapter across studio nodes (server/cluster/redis-link.ts); absent: this process only. */
  adapter?: ServerOptions['adapter'];
  /** Someone joined the room (issue 15: a candidate on stage makes a scenario sat). */
  joined?: (participant: Participant) => void;
}

export interface Signalling {
  io: StudioServer;
  /** Participants of this session with a live connection now, on any studio node. */
  connectedParticipantIds(sessionId: string): Promise<Set<string>>;
  /** Participants of this session connected to this studio node (no question to the others). */
  localParticipantIds(sessionId: string): Set<string>;
  /** Sessions with anyone connected to this studio node. */
  localSessionIds(): Set<string>;
  /** The same for several sessions at once: one question to the other nodes. */
  connectedBySession(sessionIds: readonly string[]): Promise<Map<string, Set<string>>>;
  /** Sends the day's new state to everyone in the session. */
  broadcastDayState(sessionId: string): void;
  /** Tells everyone in the session whether the phase is being recorded. */
  broadcastRecording(sessionId: string, status: RecordingStatus): void;
  /** Live Socket.IO connections to this node. */
  connectionCount(): number;
  /**
   * Drops the connections of a session's people on this node as a network failure would, so
   * that their pages reconnect through the balancer (to the node now serving the session);
   * returns how many.
   */
  sendSessionElsewhere(sessionId: string): number;
  /** Stops checking sign-ins again and closes every connection. */
  close(): Promise<void>;
}

// Socket.IO rooms ("channels" here, beside the media rooms); with Redis they span the nodes.
const sessionChannel = (sessionId: string): string => `session:${sessionId}`;
/** Who hears an actor's signal: the session's lead observer and coordinators. */
const leadChannel = (sessionId: string): string => `lead:${sessionId}`;
/** Every connection of one participant: a new one replaces the others, on whichever node. */
const participantChannel = (participantId: string): string => `participant:${participantId}`;

type Handler<N extends RequestName> = (socket: StudioSocket, payload: RequestPayload<N>) => Promise<ReplyTypes[N]>;

export function attachSignalling(httpServer: HttpServer, deps: SignallingDeps): Signalling {
  const log = deps.log.child({ module: 'signalling' });
  const originLog = new LogBudget(log, 20);
  const io: StudioServer = new Server(httpServer, {
    // Engine-level hard cap; anything above MAX_PAYLOAD_BYTES but below this gets a typed error.
    maxHttpBufferSize: 1_000_000,
    serveClient: false,
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
    // Other upgrades on this server (the /collab/ endpoint) are not Socket.IO's to destroy.
    destroyUpgrade: false,
    cors: { origin: false },
    // Refuse other sites' pages before anything else (cross-site WebSocket hijacking).
    allowRequest: (req, callback) => {
      const allowed = originAllowed(req.headers.origin, deps.allowedOrigins());
      if (!allowed) originLog.warn({ origin: String(req.headers.origin).slice(0, 200) }, 'socket refused: origin not allowed');
      callback(null, allowed);
    },
  });
  /** The live connection of each participant on this node; a newer one replaces the older. */
  const connections = new Map<string, StudioSocket>();
  const held = new WeakMap<StudioSocket, HeldBySocket>();
  const heldBy = (socket: StudioSocket): HeldBySocket => {
    const state = held.get(socket);
    if (!state) throw new ProtocolFailure('UNAUTHENTICATED', 'this connection is not signed in');
    return state;
  };
  const joinedRoom = (socket: StudioSocket): Room => {
    const { room } = heldBy(socket);
    if (!room || room.isClosed) throw new ProtocolFailure('NOT_JOINED', 'join the session first');
    return room;
  };

  io.use(async (socket, next) => {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) return next(handshakeError('INVALID_PAYLOAD', 'handshake auth must be { participantId }'));
    let result;
    try {
      result = await deps.auth.fromCookieHeader(socket.handshake.headers.cookie, auth.data.participantId);
    } catch (error) {
      log.error({ err: (error as Error).message }, 'socket authentication failed');
      return next(handshakeError('INTERNAL', 'could not check the sign-in; try again'));
    }
    if (!result.ok) {
      log.warn({ reason: result.reason, participantId: auth.data.participantId }, 'socket refused');
      return next(handshakeError('UNAUTHENTICATED', describeAuthFailure(result.reason)));
    }
    // The session a balancer routed this connection by must be the participant's own: one
    // routed by another session's id could meet nobody of its own session on that node.
    const routedBy = socket.handshake.query[SESSION_ROUTING_PARAM];
    if (routedBy !== undefined && routedBy !== result.participant.sessionId) {
      log.warn({ participantId: result.participant.id }, 'socket refused: routed by another session');
      return next(handshakeError('FORBIDDEN', 'this connection names another session; reload the page'));
    }
    // A staff desk belongs to no session, so to no room.
    if (ParticipantAuth.isDesk(result.participant)) return next(handshakeError('FORBIDDEN', 'open a session you take part in to join its room'));
    // An analyst has no place in the room: no media, no presence, not even a connection.
    if (!ROOM_ROLES.has(result.participant.role)) {
      log.warn({ role: result.participant.role, participantId: result.participant.id }, 'socket refused: role takes no part in the room');
      return next(handshakeError('FORBIDDEN', `a ${result.participant.role} takes no part in the room`));
    }
    socket.data.participant = result.participant;
    held.set(socket, { proof: result.proof });
    next();
  });

  const handlers: { [N in RequestName]: Handler<N> } = {
    join: async (socket, p) => {
      if (p.protocolVersion !== PROTOCOL_VERSION) {
        throw new ProtocolFailure(
          'PROTOCOL_VERSION_MISMATCH',
          `server speaks protocol ${PROTOCOL_VERSION}, client ${p.protocolVersion}: reload the page`,
        );
      }
      const { participant } = socket.data;
      const refusal = deps.admission?.(participant);
      if (refusal) throw refusal;
      const room = await deps.rooms.getOrCreate(participant.sessionId);
      const mine = heldBy(socket);
      const channel: PeerChannel = mine.channel ?? { notify: (event, ...args) => socket.emit(event, ...args) };
      const joined = room.join(participant, channel);
      mine.room = room;
      mine.channel = channel;
      try {
        deps.joined?.(participant);
      } catch (error) {
        log.error({ err: (error as Error).message }, 'announcing a join failed');
      }
      // The worker sets up the receiving side while the audit row is written (the reply waits for both).
      const receiving = p.receive ? room.receiveAll(participant.id, p.receive.rtpCapabilities) : Promise.resolve({});
      receiving.catch(() => undefined); // awaited below; not unhandled if the audit throws first
      // One audit row per connection: a client repeating join (up to the rate limit) must not
      // flood the append-only log.
      if (!mine.joinAudited) {
        deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: participant.id, action: 'room.joined' });
        mine.joinAudited = true;
      }
      return {
        self: { participantId: participant.id, displayName: participant.displayName, role: participant.role },
        sessionId: participant.sessionId,
        routerRtpCapabilities: room.routerRtpCapabilities,
        iceServers: deps.iceServers,
        ...joined,
        ...(await receiving),
      };
    },
    createTransport: async (socket, p) => joinedRoom(socket).createTransport(socket.data.participant.id, p.direction),
    connectTransport: async (socket, p) => {
      await joinedRoom(socket).connectTransport(socket.data.participant.id, p);
      return {};
    },
    restartIce: async (socket, p) => joinedRoom(socket).restartIce(socket.data.participant.id, p.transportId),
    produce: async (socket, p) => joinedRoom(socket).produce(socket.data.participant.id, p),
    closeProducer: async (socket, p) => {
      joinedRoom(socket).closeProducer(socket.data.participant.id, p.producerId);
      return {};
    },
    consume: async (socket, p) => joinedRoom(socket).consume(socket.data.participant.id, p),
    resumeConsumer: async (socket, p) => {
      await joinedRoom(socket).resumeConsumer(socket.data.participant.id, p.consumerId);
      return {};
    },
    dayControl: async (socket, p) => deps.assessment.control(socket.data.participant, p),
    clockSync: async () => ({ serverNow: Date.now() }),
    signalLead: async (socket, p) => {
      const { participant } = socket.data;
      if (participant.role !== 'actor') throw new ProtocolFailure('FORBIDDEN', 'only actors signal the lead observer');
      // One signal every few seconds is plenty; more is a stuck button or a flood.
      const now = Date.now();
      const mine = heldBy(socket);
      if (now - (mine.lastSignalAt ?? 0) < SIGNAL_INTERVAL_MS) {
        throw new ProtocolFailure('RATE_LIMITED', 'signal sent a moment ago: the lead observer has it');
      }
      mine.lastSignalAt = now;
      deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: participant.id, action: 'day.actor_signalled', detail: { kind: p.kind } });
      const signal = { from: { participantId: participant.id, displayName: participant.displayName, role: participant.role }, kind: p.kind, at: now };
      // To the lead observer and coordinators on whichever node they are connected to.
      const leads = leadChannel(participant.sessionId);
      io.to(leads).emit('leadSignal', signal);
      return { delivered: (await socketsIn([leads])).length };
    },
  };

  // A revoked link, an ended staff sign-in or a removed person loses their live connection
  // within a few seconds (issue 13), not whenever the page happens to reload.
  const stopRevalidation = revalidateInSlices<StudioSocket>({
    connections: () => connections.values(),
    isOpen: (socket) => socket.connected,
    stillValid: (sockets) => deps.auth.stillValidAll(sockets.map((socket) => ({ participant: socket.data.participant, proof: heldBy(socket).proof }))),
    signIn: (socket) => signInKey(socket.data.participant, heldBy(socket).proof),
    end: (socket) => {
      log.info({ participantId: socket.data.participant.id }, 'sign-in ended: connection closed');
      socket.emit('signedOut');
      socket.disconnect(true);
    },
    warn: (context, message) => log.warn(context, message),
  });

  const clusterLog = new LogBudget(log, 10);
  /**
   * The connections in these channels on every node (with Redis, a question to the others; one
   * that does not answer in time leaves this node's own, with a warning).
   */
  const socketsIn = async (channels: string[]): Promise<Array<{ data: SocketData; emit: StudioSocket['emit'] }>> => {
    try {
      return await io.in(channels).fetchSockets();
    } catch (error) {
      clusterLog.warn({ err: (error as Error).message }, 'the other studio nodes did not say who is connected: this node only');
      return io.local.in(channels).fetchSockets();
    }
  };

  const connectedBySession = async (sessionIds: readonly string[]): Promise<Map<string, Set<string>>> => {
    const online = new Map(sessionIds.map((id) => [id, new Set<string>()]));
    if (sessionIds.length === 0) return online;
    for (const s of await socketsIn(sessionIds.map(sessionChannel))) online.get(s.data.participant.sessionId)?.add(s.data.participant.id);
    return online;
  };
  const localParticipantIds = (sessionId: string): Set<string> =>
    new Set([...connections.values()].filter((s) => s.data.participant.sessionId === sessionId).map((s) => s.data.participant.id));
  const localSessionIds = (): Set<string> => new Set([...connections.values()].map((s) => s.data.participant.sessionId));
  const connectedParticipantIds = async (sessionId: string): Promise<Set<string>> => (await connectedBySession([sessionId])).get(sessionId)!;

  /** Candidates and actors hear only of candidates and actors; hidden roles of everyone. */
  const presenceFor = (viewer: Participant, online: Set<string>): PresenceInfo => {
    const visible = deps.sessions
      .listParticipants(viewer.sessionId)
      .filter((p) => p.id !== viewer.id && ROOM_ROLES.has(p.role) && (HIDDEN_ROLES.has(viewer.role) || SCENARIO_STAGE.has(p.role)))
      .map((p) => ({ participantId: p.id, displayName: p.displayName, role: p.role }));
    return { connected: visible.filter((p) => online.has(p.participantId)), expected: visible };
  };

  const broadcastPresence = async (sessionId: string): Promise<void> => {
    try {
      const sockets = await socketsIn([sessionChannel(sessionId)]);
      const online = new Set(sockets.map((s) => s.data.participant.id));
      for (const s of sockets) s.emit('presence', presenceFor(s.data.participant, online));
    } catch (error) {
      log.error({ sessionId, err: (error as Error).message }, 'presence broadcast failed');
    }
  };

  const broadcastDayState = (sessionId: string): void => {
    const state = deps.assessment.dayState(sessionId);
    if (state) io.to(sessionChannel(sessionId)).emit('dayState', state);
  };

  io.on('connection', (socket) => {
    try {
      onConnection(socket);
    } catch (error) {
      // E.g. the database failed while greeting: drop this connection, keep serving the rest.
      log.error({ err: (error as Error).stack }, 'socket setup failed');
      socket.disconnect(true);
    }
  });

  const onConnection = (socket: StudioSocket): void => {
    const { participant } = socket.data;
    const socketLog = log.child({ participantId: participant.id, role: participant.role, sessionId: participant.sessionId });
    const refusalLog = new LogBudget(socketLog, REFUSAL_LOG_LINES_PER_MINUTE);
    const limiter = rateLimiter(MAX_REQUESTS_PER_SECOND);
    // Presence counts from the first connection, before the media join (waiting room).
    // The newest connection of a participant is the one: older ones, here or on another node, end.
    const older = io.in(participantChannel(participant.id)).except(socket.id);
    older.emit('sessionReplaced');
    older.disconnectSockets(true);
    connections.set(participant.id, socket);
    const channels = [sessionChannel(participant.sessionId), participantChannel(participant.id)];
    if (participant.role === 'leadObserver' || participant.role === 'coordinator') channels.push(leadChannel(participant.sessionId));
    void socket.join(channels);
    const day = deps.assessment.dayState(participant.sessionId);
    if (day) socket.emit('dayState', day);
    socket.emit('recording', deps.recordings.status(participant.sessionId));
    void broadcastPresence(participant.sessionId);

    const refuse = (event: string, error: ProtocolError, ack: unknown): void => {
      refusalLog.warn({ event, code: error.code, reason: error.message }, 'request refused');
      if (typeof ack === 'function') (ack as (r: Result<never>) => void)({ ok: false, error });
      else socket.emit('protocolError', { ...error, event });
    };

    // Every message passes here first, known or not, with an acknowledgement or without: one
    // limiter for all of it. (onAny listeners would run before this, so unknown events are
    // answered here too.)
    socket.use((packet, next) => {
      const [rawEvent, ...args] = packet as unknown as [unknown, ...unknown[]];
      const event = String(rawEvent).slice(0, 64);
      const ack = args.at(-1);
      if (socket.disconnected) return; // messages already on the wire when it was cut off
      const verdict = limiter();
      if (verdict === 'cutoff') {
        socketLog.warn({ limitPerSecond: MAX_REQUESTS_PER_SECOND }, 'socket cut off: flooding');
        socket.disconnect(true);
        return;
      }
      if (verdict === 'refused') {
        // An over-limit message without an acknowledgement is dropped: answering each one would
        // let a client make the server send as much as it receives.
        if (typeof ack === 'function') refuse(event, { code: 'RATE_LIMITED', message: 'too many requests; slow down' }, ack);
        else refusalLog.warn({ event, code: 'RATE_LIMITED' }, 'message dropped');
        return;
      }
      if (!(REQUEST_NAMES as string[]).includes(event)) {
        // Anything that is not a known request gets a typed error, not silence.
        return refuse(event, { code: 'UNKNOWN_EVENT', message: `unknown event "${event}"` }, ack);
      }
      next();
    });

    for (const name of REQUEST_NAMES) {
      socket.on(name, async (raw: unknown, ack: unknown) => {
        if (typeof ack !== 'function') {
          return refuse(name, { code: 'INVALID_PAYLOAD', message: `${name} needs an acknowledgement callback` }, undefined);
        }
        const size = payloadSize(raw);
        if (size > MAX_PAYLOAD_BYTES) {
          return refuse(name, { code: 'PAYLOAD_TOO_LARGE', message: `payload of ${size} bytes exceeds ${MAX_PAYLOAD_BYTES}` }, ack);
        }
        if (nestedDeeperThan(raw, MAX_PAYLOAD_DEPTH)) {
          return refuse(name, { code: 'INVALID_PAYLOAD', message: `payload nested deeper than ${MAX_PAYLOAD_DEPTH} levels` }, ack);
        }
        const parsed = requestSchemas[name].safeParse(raw);
        if (!parsed.success) {
          const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
          return refuse(name, { code: 'INVALID_PAYLOAD', message: `invalid ${name}: ${detail}`.slice(0, 500) }, ack);
        }
        try {
          const handler = handlers[name] as Handler<typeof name>;
          const data = await handler(socket, parsed.data as never);
          (ack as (r: Result<unknown>) => void)({ ok: true, data });
        } catch (error) {
          refuse(name, toProtocolError(error), ack);
          // Under the socket's log budget: mediasoup's refusals of bad parameters are errors a
          // client can cause at will, up to the rate limit (found by the fuzzer, seed 22).
          if (!(error instanceof ProtocolFailure)) refusalLog.error({ event: name, err: (error as Error).stack }, 'request failed');
        }
      });
    }

    socket.on('disconnect', (reason) => {
      refusalLog.flush();
      socketLog.info({ reason }, 'socket disconnected');
      if (connections.get(participant.id) === socket) connections.delete(participant.id);
      void broadcastPresence(participant.sessionId);
      const { room, channel } = held.get(socket) ?? {};
      if (room && channel) {
        room.leave(participant.id, channel);
        try {
          deps.audit.append({ sessionId: participant.sessionId, actorParticipantId: participant.id, action: 'room.left', detail: { reason } });
        } catch (error) {
          socketLog.error({ err: (error as Error).message }, 'could not audit leaving the room');
        }
      }
    });
  };

  const broadcastRecording = (sessionId: string, status: RecordingStatus): void => {
    io.to(sessionChannel(sessionId)).emit('recording', status);
  };

  return {
    io,
    connectedParticipantIds,
    localParticipantIds,
    localSessionIds,
    connectedBySession,
    broadcastDayState,
    broadcastRecording,
    connectionCount: () => io.of('/').sockets.size,
    sendSessionElsewhere(sessionId) {
      let dropped = 0;
      for (const socket of connections.values()) {
        if (socket.data.participant.sessionId !== sessionId) continue;
        // The transport, not a Socket.IO disconnect: a client told "disconnected by the server"
        // does not reconnect by itself, one whose connection dropped does.
        socket.conn.close();
        dropped++;
      }
      return dropped;
    },
    async close() {
      stopRevalidation();
      await io.close();
    },
  };
}


function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolFailure) return error.toJSON();
  // The database refused (busy, full, …): nothing the client described was wrong.
  if (isStorageError(error)) return { code: 'INTERNAL', message: 'the studio could not store this; try again' };
  // mediasoup rejects bad parameters (TypeError) and worker-side failures (Error); both are
  // about the media the client described, not an internal fault of ours.
  if (error instanceof Error) return { code: 'MEDIA_ERROR', message: error.message.slice(0, 300) };
  return { code: 'INTERNAL', message: 'internal error' };
}

function payloadSize(raw: unknown): number {
  try {
    return JSON.stringify(raw ?? null).length;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Whether a JSON value nests deeper than `limit` (iterative: the check itself cannot overflow). */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * A token bucket per socket: up to `perSecond` messages at once, refilled at `perSecond` a
 * second. Every message costs a token, refused ones too, so a client over the limit must
 * pause to be heard again; one that runs FLOOD_CUTOFF messages into debt is flooding.
 * (A bucket, not a fixed window, so a burst is judged the same wherever a window would fall.)
 */
function rateLimiter(perSecond: number, now: () => number = Date.now): () => 'ok' | 'refused' | 'cutoff' {
  let tokens = perSecond;
  let last = now();
  return () => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - last) / 1000) * perSecond) - 1;
    last = t;
    if (tokens >= 0) return 'ok';
    return tokens < -FLOOD_CUTOFF ? 'cutoff' : 'refused';
  };
}

function handshakeError(code: ErrorCode, message: string): Error & { data: ProtocolError } {
  return Object.assign(new Error(message), { data: { code, message } });
}
