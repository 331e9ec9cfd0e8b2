// Issue 11, rows 1 and 14 (HTTP side): nothing a client sends over HTTP ends the process or
// gets an untyped answer; each router's JSON limit is the one that applies; the data
// directory is private. Against a real server process (the one `npm start` runs).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERROR_CODES } from '../../shared/errors.ts';
import { loadConfig } from '../../server/config.ts';
import { openData } from '../../server/studio.ts';
import { cookieFor, freePort, kill9, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { studioEnv, testDatabaseUrl } from '../helpers/postgres.ts';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-hardening-http-'));
let server: ServerProcess;
let port: number;
let moderator: { id: string; cookie: string };
let coordinator: { id: string; cookie: string };

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** One request with exactly this path and these bytes (fetch would normalise the URL). */
function raw(method: string, requestPath: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: requestPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function apiError(answer: Answer): { code: string; message: string } {
  expect(answer.contentType).toMatch(/application\/json/);
  const parsed = JSON.parse(answer.body) as { error: { code: string; message: string } };
  expect(API_ERROR_CODES).toContain(parsed.error.code);
  expect(typeof parsed.error.message).toBe('string');
  return parsed.error;
}

async function healthy(): Promise<boolean> {
  try {
    return (await fetch(`${server.baseUrl}/api/health`)).ok;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  // Modes an older version left behind: loose data dir, database, secret and recordings.
  fs.mkdirSync(path.join(dataDir, 'recordings', 'old-session'), { recursive: true });
  fs.writeFileSync(path.join(dataDir, 'recordings', 'old-session', 'segment.webm'), 'x');
  fs.chmodSync(dataDir, 0o755);
  fs.chmodSync(path.join(dataDir, 'recordings'), 0o755);
  fs.chmodSync(path.join(dataDir, 'recordings', 'old-session'), 0o755);
  fs.chmodSync(path.join(dataDir, 'recordings', 'old-session', 'segment.webm'), 0o644);
  fs.writeFileSync(path.join(dataDir, 'secret.key'), Buffer.alloc(32, 7).toString('base64url'), { mode: 0o644 });
  fs.chmodSync(path.join(dataDir, 'secret.key'), 0o644);

  port = await freePort();
  server = await startServerProcess(dataDir, port);
  const data = openData(loadConfig({ ...studioEnv(dataDir), SIMSTUDIO_PORT: String(port) }));
  const { participants } = data.sessions.create({
    title: 'Staff',
    level: 'practitioner',
    participants: [
      { role: 'moderator', displayName: 'Mo' },
      { role: 'coordinator', displayName: 'Cora' },
    ],
  });
  const signIn = async (role: string) => {
    const p = participants.find((x) => x.role === role)!;
    return { id: p.id, cookie: await cookieFor(await data.invites.link(server.baseUrl, p), p.id) };
  };
  moderator = await signIn('moderator');
  coordinator = await signIn('coordinator');
  data.db.close();
});

afterAll(async () => {
  if (server) await kill9(server);
});

describe('malformed HTTP', () => {
  it('answers every malformed path with a typed 4xx and keeps serving', async () => {
    // `//` is the root to Express: served, not refused; the point is that nothing breaks.
    expect((await raw('GET', '//')).status).toBeLessThan(500);
    for (const p of ['/%', '/api/%E0%A4%A', '/api/me?participantId=%', '/join/%', '/join/%E0%A4%A', '/room/%', '/studio/%ZZ', '/api/studio/sessions/%/invites?participantId=x', '/assets/%E0%A4%A.js', '/%2e%2e/%2e%2e/etc/passwd']) {
      const answer = await raw('GET', p);
      expect(answer.status, p).toBeGreaterThanOrEqual(400);
      expect(answer.status, p).toBeLessThan(500);
      // /join/<bad token> answers with the invite page (HTML, 401) by design; the rest with JSON.
      if (!p.startsWith('/join/')) apiError(answer);
    }
    expect(server.child.exitCode).toBeNull();
    expect(await healthy()).toBe(true);
  });

  it('maps body-parser failures to the closed error codes', async () => {
    const url = `/api/studio/templates?participantId=${coordinator.id}`;
    const json = { 'content-type': 'application/json', cookie: coordinator.cookie };

    const badJson = await raw('POST', url, json, '{"id": nope');
    expect(badJson.status).toBe(400);
    expect(apiError(badJson).code).toBe('INVALID_REQUEST');

    const tooLarge = await raw('POST', url, json, JSON.stringify({ name: 'a'.repeat(300 * 1024) }));
    expect(tooLarge.status).toBe(413);
    expect(apiError(tooLarge).code).toBe('PAYLOAD_TOO_LARGE');

    const charset = await raw('POST', url, { ...json, 'content-type': 'application/json; charset=koi8-r' }, '{}');
    expect(charset.status).toBe(415);
    expect(apiError(charset).code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const encoding = await raw('POST', url, { ...json, 'content-encoding': 'x-made-up' }, '{}');
    expect(encoding.status).toBe(415);
    expect(apiError(encoding).code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const badGzip = await raw('POST', url, { ...json, 'content-encoding': 'gzip' }, 'not gzip at all');
    expect(badGzip.status).toBeGreaterThanOrEqual(400);
    expect(badGzip.status).toBeLessThan(500);
    apiError(badGzip);

    expect(server.child.exitCode).toBeNull();
    expect(await healthy()).toBe(true);
  });

  it('survives malformed WebSocket upgrades', async () => {
    for (const target of ['//', '/collab/%', '/collab/%E0%A4%A', '/socket.io/?EIO=4&transport=websocket&sid=%']) {
      await new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(
            `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          );
        });
        socket.on('data', () => socket.destroy());
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.setTimeout(3000, () => socket.destroy());
      });
    }
    await expect.poll(healthy, { timeout: 10_000 }).toBe(true);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('JSON body limits per router', () => {
  it('moderation refuses a 100 kB body with 413 while the assessment routes still read one', async () => {
    const big = JSON.stringify({ includeFails: true, includeBorderline: true, passPercent: 10, padding: 'a'.repeat(100 * 1024) });
    const moderation = await raw('PUT', `/api/moderation/sampling?participantId=${moderator.id}`, { 'content-type': 'application/json', cookie: moderator.cookie }, big);
    expect(moderation.status).toBe(413);
    expect(apiError(moderation).code).toBe('PAYLOAD_TOO_LARGE');

    // 100 kB is within the assessment routes' 256 kB: parsed, then refused by the schema.
    const assessment = await raw(
      'POST',
      `/api/studio/templates?participantId=${coordinator.id}`,
      { 'content-type': 'application/json', cookie: coordinator.cookie },
      JSON.stringify({ name: 'a'.repeat(100 * 1024) }),
    );
    expect(assessment.status).toBe(400);
    expect(apiError(assessment).code).toBe('INVALID_REQUEST');
  });
});

describe('data directory', () => {
  const mode = (p: string): number => fs.statSync(path.join(dataDir, p)).mode & 0o777;

  it('keeps database, secret and recordings private, tightening what an older version left', () => {
    expect(mode('.')).toBe(0o700);
    // The embedded database's files (a studio on PostgreSQL keeps none in the folder).
    if (!testDatabaseUrl(dataDir)) {
      expect(mode('simstudio.db')).toBe(0o600);
      expect(mode('simstudio.db-wal')).toBe(0o600);
      expect(mode('simstudio.db-shm')).toBe(0o600);
    } else expect(fs.existsSync(path.join(dataDir, 'simstudio.db'))).toBe(false);
    expect(mode('secret.key')).toBe(0o600);
    expect(mode('recordings')).toBe(0o700);
    expect(mode('recordings/old-session')).toBe(0o700);
    expect(mode('recordings/old-session/segment.webm')).toBe(0o600);
  });
});
