// Runs the studio as its own process (`node server/main.ts`), so that tests can SIGKILL it
// and start it again on the same data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { sessionCookieName } from '../../shared/api.ts';
import type { DayControl, DayState, Template } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/protocol.ts';
import { loadConfig } from '../../server/config.ts';
import { openData } from '../../server/studio.ts';
import { booking } from './assessment.ts';
import { acceptNotices } from './privacy.ts';
import { studioEnv } from './postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

export async function startServerProcess(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  let output = '';
  const child = spawn(process.execPath, [path.join(ROOT, 'server/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...studioEnv(dataDir),
      SIMSTUDIO_PORT: String(port),
      SIMSTUDIO_MEDIA_WORKERS: '1',
      SIMSTUDIO_DEMO: 'false',
      SIMSTUDIO_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  // Generous: a loaded 2-core machine starts Node and a mediasoup worker slowly.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${baseUrl}/api/health`)).ok) return { child, baseUrl, output: () => output };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not become healthy:\n${output}`);
}

export async function kill9(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return; // gone already
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
}

/** Opens an invite link against a server process and returns the Cookie header it set. Someone
 *  whose link leads to the room also accepts the privacy and recording notices, as the pre-join
 *  page has them do. */
export async function cookieFor(link: string, participantId: string): Promise<string> {
  const res = await fetch(link, { redirect: 'manual' });
  const name = sessionCookieName(participantId);
  const match = new RegExp(`${name}=([^;]+)`).exec(res.headers.get('set-cookie') ?? '');
  if (!match) throw new Error(`no session cookie from ${link}`);
  const cookie = `${name}=${match[1]}`;
  if ((res.headers.get('location') ?? '').startsWith('/room/')) await acceptNotices(new URL(link).origin, participantId, cookie);
  return cookie;
}

export type ServerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ServerInvite {
  participantId: string;
  role: Participant['role'];
  link: string;
}

export interface ServerDay {
  sessionId: string;
  invites: ServerInvite[];
}

/**
 * Books a day on a running server process the way a coordinator does (HTTP), on `template`
 * when given (saved through the studio API first), else on the practitioner default.
 */
export async function bookOnServer(server: ServerProcess, dataDir: string, template?: Omit<Template, 'version'>): Promise<ServerDay> {
  // A coordinator to book with, created in the server's own data directory (same secret).
  const data = openData(loadConfig({ ...studioEnv(dataDir)}));
  let coordinator: Participant;
  let link: string;
  try {
    const { participants } = data.sessions.create({ title: 'Staff', level: 'practitioner', participants: [{ role: 'coordinator', displayName: 'Cora' }] });
    coordinator = participants[0]!;
    link = await data.invites.link(server.baseUrl, coordinator);
  } finally {
    data.db.close();
  }
  const cookie = await cookieFor(link, coordinator.id);
  const post = async (route: string, body: unknown): Promise<Response> => {
    const res = await fetch(`${server.baseUrl}/api${route}?participantId=${coordinator.id}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
    return res;
  };
  let templateId = 'practitioner';
  if (template) templateId = ((await (await post('/studio/templates', template)).json()) as Template).id;
  const actors = template ? [{ displayName: 'Ada', scenarios: [1] }] : [{ displayName: 'Ada', scenarios: [1, 2, 3] }];
  if (template && template.scenarioCount > 1) actors[0]!.scenarios = Array.from({ length: template.scenarioCount }, (_, i) => i + 1);
  const booked = (await (await post('/studio/sessions', booking(templateId, { actors }))).json()) as { sessionId: string };
  return { sessionId: booked.sessionId, invites: await operatorInvites(server, dataDir, booked.sessionId) };
}

/** A link for every participant of a session, made the way the operator's console makes them:
 *  the studio hands out links for candidates and actors only (staff sign in as themselves). */
export async function operatorInvites(server: ServerProcess, dataDir: string, sessionId: string): Promise<ServerInvite[]> {
  const operator = openData(loadConfig({ ...studioEnv(dataDir)}));
  try {
    return await Promise.all(
      operator.sessions.listParticipants(sessionId).map(async (p) => ({ participantId: p.id, role: p.role, link: await operator.invites.link(server.baseUrl, p) })),
    );
  } finally {
    operator.db.close();
  }
}

export function inviteOf(day: ServerDay, role: Participant['role']): ServerInvite {
  const invite = day.invites.find((i) => i.role === role);
  if (!invite) throw new Error(`no ${role} invite`);
  return invite;
}

/**
 * A Socket.IO client signed in as this invite's participant, not connected yet (attach
 * listeners, then `socket.connect()`). `url` lets it go through something else, e.g. a proxy.
 */
export async function socketFor(server: ServerProcess, invite: ServerInvite, url = server.baseUrl): Promise<ServerSocket> {
  const cookie = await cookieFor(invite.link, invite.participantId);
  return io(url, {
    auth: { participantId: invite.participantId },
    extraHeaders: { cookie },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
  });
}

/** Connects as this invite's participant and resolves with the dayState the server sends on connection. */
export async function dayStateOnConnect(server: ServerProcess, invite: ServerInvite): Promise<{ state: DayState; socket: ServerSocket }> {
  const socket = await socketFor(server, invite);
  const state = new Promise<DayState>((resolve, reject) => {
    socket.once('dayState', resolve);
    socket.once('connect_error', reject);
  });
  socket.connect();
  return { state: await state, socket };
}

/** Sends a day control action and resolves with the new state (rejects on a refusal). */
export function dayControl(socket: ServerSocket, control: DayControl): Promise<DayState> {
  return new Promise((resolve, reject) =>
    socket.timeout(15_000).emit('dayControl', control, (err: Error | null, r) => {
      if (err) reject(err);
      else if (r.ok) resolve(r.data);
      else reject(new Error(`${r.error.code}: ${r.error.message}`));
    }),
  );
}
