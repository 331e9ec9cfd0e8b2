// Starts a real studio (real database, real mediasoup workers) on a free port in a fresh
// data directory, with its log lines captured for assertions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import { sessionCookieName } from '../../shared/api.ts';
import type { NewSession, Participant } from '../../shared/domain.ts';
import type {
  ClientToServerEvents,
  ReplyTypes,
  RequestName,
  RequestPayload,
  Result,
  ServerToClientEvents,
} from '../../shared/protocol.ts';
import { loadConfig, type Config } from '../../server/config.ts';
import { startStudio, type Studio } from '../../server/studio.ts';
import { ROOM_ROLES } from '../../shared/roles.ts';
import { acceptNotices } from './privacy.ts';
import { studioEnv } from './postgres.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TestStudio extends Studio {
  logLines: Array<Record<string, unknown>>;
  dataDir: string;
}

export async function startTestStudio(overrides: Partial<Config> = {}, dataDir?: string): Promise<TestStudio> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-test-'));
  const base = loadConfig({ SIMSTUDIO_PORT: '0', ...studioEnv(dir), SIMSTUDIO_MEDIA_WORKERS: '1', SIMSTUDIO_LOG_LEVEL: 'info' });
  const logLines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const studio = await startStudio({ ...base, ...overrides }, pino({ level: 'info' }, sink));
  return Object.assign(studio, { logLines, dataDir: dir });
}

/** An open room (no assessment day): one of every role; candidates and actors on stage. */
export const OPEN_ROOM: NewSession = {
  title: 'Open room',
  level: 'practitioner',
  participants: [
    { role: 'candidate', displayName: 'Sam Carter' },
    { role: 'actor', displayName: 'Alex Morgan' },
    { role: 'leadObserver', displayName: 'Priya Shah' },
    { role: 'observer', displayName: 'Tom Ellis' },
    { role: 'moderator', displayName: 'Helen Price' },
    { role: 'coordinator', displayName: 'Jo Bennett' },
  ],
};

export function createSession(studio: Studio, session: NewSession = OPEN_ROOM): { sessionId: string; participants: Participant[] } {
  const { session: created, participants } = studio.sessions.create(session);
  return { sessionId: created.id, participants };
}

export function byRole(participants: Participant[], role: Participant['role']): Participant {
  const found = participants.find((p) => p.role === role);
  if (!found) throw new Error(`no ${role}`);
  return found;
}

/** Opens the participant's invite link like a browser and returns the Cookie header value.
 *  Someone who takes part in the room also accepts the privacy and recording notices, as the
 *  pre-join page has them do (`acceptNotices: false` leaves them unanswered). */
export async function signIn(studio: Studio, participant: Participant, options: { acceptNotices?: boolean } = {}): Promise<string> {
  const link = await studio.invites.link(studio.baseUrl, participant);
  const res = await fetch(link, { redirect: 'manual' });
  if (res.status !== 303) throw new Error(`invite refused: ${res.status}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const name = sessionCookieName(participant.id);
  const match = new RegExp(`${name}=([^;]+)`).exec(setCookie);
  if (!match) throw new Error('no session cookie set');
  const cookie = `${name}=${match[1]}`;
  if (options.acceptNotices !== false && ROOM_ROLES.has(participant.role)) await acceptNotices(studio.baseUrl, participant.id, cookie);
  return cookie;
}

export function connect(studio: Studio, participantId: string, cookie: string): ClientSocket {
  return io(studio.baseUrl, {
    auth: { participantId },
    extraHeaders: { cookie },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
}

export async function connected(socket: ClientSocket): Promise<void> {
  if (socket.connected) return;
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
}

export async function connectAs(studio: Studio, participant: Participant): Promise<ClientSocket> {
  const socket = connect(studio, participant.id, await signIn(studio, participant));
  await connected(socket);
  return socket;
}

/** How long a test request waits for its acknowledgement: a failure detector, generous because
 *  a loaded 2-core machine can be slow (the page's own limit, client/lib/signalling.ts). */
const REQUEST_TIMEOUT_MS = 10_000;

export function request<N extends RequestName>(
  socket: ClientSocket,
  name: N,
  payload: RequestPayload<N>,
): Promise<Result<ReplyTypes[N]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no reply within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
    const emit = socket.emit as unknown as (event: string, payload: unknown, ack: (r: Result<ReplyTypes[N]>) => void) => void;
    emit.call(socket, name, payload, (result) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

/** Sends anything at all, to test what the server does with bad input. */
export function rawRequest(socket: ClientSocket, name: string, ...args: unknown[]): Promise<Result<unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no reply within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
    (socket.emit as unknown as (...a: unknown[]) => void).call(socket, name, ...args, (result: Result<unknown>) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

/** A minimal valid VP8 send description, enough for the server to create a real producer. */
export function vp8RtpParameters(ssrc: number): RequestPayload<'produce'>['rtpParameters'] {
  return {
    mid: '0',
    codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [] }],
    headerExtensions: [],
    encodings: [{ ssrc }],
    rtcp: { cname: `test-${ssrc}`, reducedSize: true },
  };
}

export async function joinAndProduceVideo(socket: ClientSocket, ssrc: number): Promise<string> {
  const join = await request(socket, 'join', { protocolVersion: 1 });
  if (!join.ok) throw new Error(join.error.message);
  const transport = await request(socket, 'createTransport', { direction: 'send' });
  if (!transport.ok) throw new Error(transport.error.message);
  const produced = await request(socket, 'produce', {
    transportId: transport.data.id,
    kind: 'video',
    source: 'camera',
    rtpParameters: vp8RtpParameters(ssrc),
  });
  if (!produced.ok) throw new Error(produced.error.message);
  return produced.data.producerId;
}
