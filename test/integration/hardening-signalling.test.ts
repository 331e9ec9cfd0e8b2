// Issue 11, rows 13 and 14 (Socket.IO): one rate limit for everything a socket sends (unknown
// events and requests without an acknowledgement included), refusals logged under a budget,
// one `room.joined` audit row per connection, and pages from other origins refused.
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { loadConfig } from '../../server/config.ts';
import { allowedOriginsFor, originAllowed, parseAllowedOrigins } from '../../server/http/origin.ts';
import {
  byRole,
  connect,
  connectAs,
  createSession,
  rawRequest,
  request,
  signIn,
  startTestStudio,
  type ClientSocket,
  type TestStudio,
} from '../helpers/studio.ts';

let studio: TestStudio;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  studio = await startTestStudio();
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await studio.close();
});

async function as(participant: Parameters<typeof connectAs>[1]): Promise<ClientSocket> {
  const socket = await connectAs(studio, participant);
  sockets.push(socket);
  return socket;
}

describe('one rate limit for everything a socket sends', () => {
  it('cuts off a socket sending 20,000 unknown events, with a bounded number of log lines', async () => {
    const { participants } = createSession(studio);
    const candidate = byRole(participants, 'candidate');
    const socket = await as(candidate);
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const emit = socket.emit as unknown as (event: string, ...args: unknown[]) => void;
    for (let i = 0; i < 20_000; i++) emit.call(socket, 'noSuchEvent', { i });

    const reason = await Promise.race([disconnected, new Promise<string>((r) => setTimeout(() => r('still connected after 30 s'), 30_000))]);
    expect(reason).not.toBe('still connected after 30 s');
    const lines = () => studio.logLines.filter((l) => l.participantId === candidate.id);
    // The cut-off and disconnect lines arrive with the disconnect; give the summary its turn.
    await expect.poll(() => lines().some((l) => l.msg === 'socket disconnected')).toBe(true);
    expect(lines().some((l) => l.msg === 'socket cut off: flooding')).toBe(true);
    expect(lines().length).toBeLessThan(50);
    expect(studio.logLines.some((l) => l.msg === 'similar log lines suppressed')).toBe(true);

    // Everyone else is still served.
    const other = await as(byRole(createSession(studio).participants, 'candidate'));
    expect(await request(other, 'clockSync', { clientSentAt: Date.now() })).toMatchObject({ ok: true });
  });

  it('counts requests without an acknowledgement against the limit', async () => {
    const socket = await as(byRole(createSession(studio).participants, 'actor'));
    const emit = socket.emit as unknown as (event: string, ...args: unknown[]) => void;
    for (let i = 0; i < 60; i++) emit.call(socket, 'clockSync', { clientSentAt: Date.now() });
    expect(await rawRequest(socket, 'clockSync', { clientSentAt: Date.now() })).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(socket.connected).toBe(true);
  });
});

describe('join audit', () => {
  it('writes one room.joined row per connection, however often it joins', async () => {
    const { sessionId, participants } = createSession(studio);
    const candidate = byRole(participants, 'candidate');
    const joinedRows = () => studio.audit.list(sessionId).filter((e) => e.action === 'room.joined' && e.actorParticipantId === candidate.id);

    const first = await as(candidate);
    for (let i = 0; i < 5; i++) expect(await request(first, 'join', { protocolVersion: PROTOCOL_VERSION })).toMatchObject({ ok: true });
    expect(joinedRows()).toHaveLength(1);

    first.disconnect();
    const second = await as(candidate);
    for (let i = 0; i < 3; i++) expect(await request(second, 'join', { protocolVersion: PROTOCOL_VERSION })).toMatchObject({ ok: true });
    expect(joinedRows()).toHaveLength(2);
  });
});

describe('origin check', () => {
  it('refuses a page from another origin and accepts the studio’s own and non-browser clients', async () => {
    const candidate = byRole(createSession(studio).participants, 'candidate');
    const cookie = await signIn(studio, candidate);
    const attempt = (origin: string | undefined) =>
      new Promise<'connected' | 'refused'>((resolve) => {
        const socket = io(studio.baseUrl, {
          auth: { participantId: candidate.id },
          extraHeaders: { cookie, ...(origin ? { origin } : {}) },
          transports: ['websocket'],
          reconnection: false,
          forceNew: true,
        });
        socket.once('connect', () => {
          socket.disconnect();
          resolve('connected');
        });
        socket.once('connect_error', () => {
          socket.disconnect();
          resolve('refused');
        });
      });
    expect(await attempt('https://evil.example')).toBe('refused');
    expect(await attempt('null')).toBe('refused');
    expect(await attempt(new URL(studio.baseUrl).origin)).toBe('connected');
    expect(await attempt(undefined)).toBe('connected');
    // Polling too (allowRequest guards every Engine.IO handshake).
    const polling = await fetch(`${studio.baseUrl}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example', cookie } });
    expect(polling.status).toBe(403);
    expect(studio.logLines.some((l) => l.msg === 'socket refused: origin not allowed')).toBe(true);
    // A cookie-carrying connection from the allowed origin still works end to end.
    const ok = connect(studio, candidate.id, cookie);
    sockets.push(ok);
    await new Promise<void>((r) => ok.once('connect', () => r()));
    expect(await request(ok, 'clockSync', { clientSentAt: Date.now() })).toMatchObject({ ok: true });
  });

  it('reads SIMSTUDIO_ALLOWED_ORIGINS and defaults to the public URL', () => {
    expect(parseAllowedOrigins('https://Studio.Example.org/, https://b.example:8443/path')).toEqual(['https://studio.example.org', 'https://b.example:8443']);
    expect(() => loadConfig({ SIMSTUDIO_ALLOWED_ORIGINS: 'ftp://x' })).toThrow(/SIMSTUDIO_ALLOWED_ORIGINS/);
    const listed = loadConfig({ SIMSTUDIO_ALLOWED_ORIGINS: 'https://a.example' });
    expect(allowedOriginsFor(listed, 'http://127.0.0.1:3000')).toEqual(['https://a.example']);
    const behindProxy = loadConfig({ SIMSTUDIO_PUBLIC_URL: 'https://studio.example.org/' });
    expect(allowedOriginsFor(behindProxy, 'https://studio.example.org')).toEqual(['https://studio.example.org']);
    const local = loadConfig({});
    expect(allowedOriginsFor(local, 'http://127.0.0.1:3000')).toContain('http://localhost:3000');
    expect(originAllowed('https://studio.example.org:443', ['https://studio.example.org'])).toBe(true);
    expect(originAllowed('https://studio.example.org.evil.example', ['https://studio.example.org'])).toBe(false);
    expect(originAllowed(undefined, ['https://studio.example.org'])).toBe(true);
  });
});
