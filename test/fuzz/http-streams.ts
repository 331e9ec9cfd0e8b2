// HTTP fuzz streams over raw TCP (fetch cannot send a malformed request): random methods, paths
// (real routes with real and broken ids, percent-encoding garbage, `//`), headers (cookies of
// the session's participants or none, content types, wrong lengths, chunked garbage), bodies
// (malformed JSON, deep nesting, prototype keys, oversized), and WebSocket upgrade requests
// with bad URLs. Every response body is screened like any other received byte.
import net from 'node:net';
import type { Rng } from './rng.ts';
import { randomJson } from './socket-streams.ts';
import { screenBytes, type Screen } from './collab-streams.ts';
import type { Person, World } from './world.ts';

export interface HttpStats {
  requests: number;
  /** Responses by status (0: no response before the connection ended or timed out). */
  statuses: Map<number, number>;
}

export function newHttpStats(): HttpStats {
  return { requests: 0, statuses: new Map() };
}

const mark = (who: Person): string => `fz${who.tag}zz`;

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'PROPFIND', 'G\u00e9T', ''];

function randomPath(rng: Rng, world: World, who: Person): string {
  const session = rng.chance(0.8) ? world.sessionId : rng.pick([world.otherSessionId, '..', '%2e%2e', 'x'.repeat(300), '%', '%zz']);
  const participant = rng.chance(0.85) ? who.id : rng.pick(world.people).id;
  const garbage = rng.pick(['%', '%E0%A4%A', '%00', '%2F..%2F..', '..%252f', '\u00ff', '%C0%AF', '~', rng.string(rng.size(40))]);
  const path = rng.pick([
    '/api/health',
    '/api/me',
    `/api/sessions/${session}/overview`,
    `/api/sessions/${session}/scenarios/${rng.pick(['1', '2', '9', '-1', '1e3', 'x'])}/${rng.pick(['candidateBriefing', 'actorBrief', 'observerGuidance', 'writtenExercisePrompt', 'x'])}`,
    `/api/sessions/${session}/written`,
    `/api/sessions/${session}/recordings`,
    `/api/sessions/${session}/evidence-notes`,
    `/api/sessions/${session}/fallback-recording`,
    `/api/recordings/${rng.pick(['00000000-0000-0000-0000-000000000000', garbage])}/media`,
    '/api/studio/templates',
    '/api/studio/scenarios',
    `/api/studio/scenarios/${garbage}`,
    '/api/studio/sessions',
    `/api/studio/sessions/${session}/invites`,
    '/api/studio/board',
    '/api/moderation/queue',
    '/api/moderation/sampling',
    `/api/moderation/sessions/${session}`,
    `/api/moderation/sessions/${session}/marks`,
    `/api/moderation/sessions/${session}/sign-off`,
    `/api/moderation/sessions/${session}/reviews`,
    `/api/moderation/sessions/${session}/reviews/${garbage}/decision`,
    '/api/results/mine',
    `/api/results/${session}/report.pdf`,
    `/api/results/${session}/employer-summary.pdf`,
    '/api/results.csv',
    `/api/${garbage}`,
    `/join/${rng.pick([garbage, 'eyJhbGciOiJub25lIn0.e30.', who.link.split('/join/')[1] ?? ''])}`,
    `/room/${participant}`,
    `/assets/${garbage}`,
    '//',
    '//api/health',
    `/${garbage}`,
    '*',
    `http://evil.example/api/me`,
  ]);
  const query = rng.weighted<string>([
    [6, `?participantId=${participant}`],
    [1, ''],
    [1, `?participantId=${garbage}`],
    [1, `?participantId=${participant}&participantId=${participant}`],
    [1, `?participantId[]=${participant}&from=${garbage}&to=2020-13-45&status=${garbage}&sampledOnly=maybe`],
    [1, `?${'a=1&'.repeat(rng.int(500, 1500))}`],
    [1, `?__proto__[polluted]=${mark(who)}&constructor[prototype][polluted]=${mark(who)}&participantId=${participant}`],
  ]);
  return path + query;
}

function randomBody(rng: Rng, who: Person): { body: Buffer; type: string } {
  const type = rng.pick([
    'application/json',
    'application/json',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'video/webm',
    'application/octet-stream',
    '',
  ]);
  const body = rng.weighted<() => string | Buffer>([
    [4, () => JSON.stringify(randomJson(rng, mark(who)))],
    [1, () => JSON.stringify({ title: mark(who), templateId: 'practitioner', candidate: { displayName: mark(who) }, observers: [] })],
    [1, () => JSON.stringify({ element: 'written', domainId: mark(who), rating: 4, rationale: mark(who) })],
    [2, () => rng.pick(['{', '{"a":', '[1,2', 'null', '"x"', '{"__proto__":{"polluted":true}}', '\u0000', '{"a":1}}'])],
    [1, () => `{"x":"${'x'.repeat(rng.int(60_000, 300_000))}"}`],
    [1, () => '['.repeat(rng.int(1000, 20_000)) + ']'.repeat(rng.int(0, 20_000))],
    [1, () => Buffer.from(rng.bytes(rng.size(4096)))],
    [1, () => ''],
  ])();
  return { body: typeof body === 'string' ? Buffer.from(body) : body, type };
}

/** One raw request; resolves with the response status (0 if none) once the server answered or gave up. */
function rawRequest(world: World, request: Buffer, halfClose: boolean, onBytes: (data: Buffer) => void, timeoutMs = 3000): Promise<number> {
  const { port, hostname } = new URL(world.baseUrl);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const response = Buffer.concat(chunks);
      onBytes(response);
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(response.subarray(0, 20).toString('latin1'));
      resolve(match ? Number(match[1]) : 0);
    };
    const timer = setTimeout(done, timeoutMs);
    // Half-closing ends the body where the bytes end; keeping the socket open lets a request
    // that announced more body hold the connection until the timeout.
    socket.on('connect', () => (halfClose ? socket.end(request) : socket.write(request)));
    socket.on('data', (d: Buffer) => {
      if (size < 2_000_000) chunks.push(d);
      size += d.length;
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** A well-formed request of a real route as this participant: the handlers behind validation run. */
function wellFormed(rng: Rng, world: World, who: Person): Buffer {
  const s = world.sessionId;
  const [method, route] = rng.pick([
    ['GET', `/api/sessions/${s}/overview`],
    ['GET', `/api/sessions/${s}/written`],
    ['GET', `/api/sessions/${s}/recordings`],
    ['GET', `/api/sessions/${s}/evidence-notes`],
    ['GET', `/api/sessions/${s}/scenarios/1/${rng.pick(['candidateBriefing', 'actorBrief', 'observerGuidance', 'writtenExercisePrompt'])}`],
    ['GET', '/api/me'],
    ['GET', '/api/studio/board'],
    ['GET', `/api/studio/sessions/${s}/invites`],
    ['GET', `/api/moderation/sessions/${s}`],
    ['GET', '/api/moderation/queue'],
    ['GET', '/api/results/mine'],
    ['GET', `/api/results/${s}/report.pdf`],
    ['POST', `/api/moderation/sessions/${s}/marks`],
    ['POST', `/api/moderation/sessions/${s}/reviews`],
    ['PUT', '/api/moderation/sampling'],
  ] as const);
  const body = method === 'GET' ? '' : JSON.stringify(randomJson(rng, mark(who)));
  const headers = [`Host: ${new URL(world.baseUrl).host}`, `Cookie: ${who.cookie}`, 'Connection: close'];
  if (body) headers.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${method} ${route}?participantId=${who.id} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
}

function requestBytes(rng: Rng, world: World, who: Person): Buffer {
  if (rng.chance(0.35)) return wellFormed(rng, world, who);
  const method = rng.pick(METHODS);
  const target = randomPath(rng, world, who);
  const upgrade = rng.chance(0.12);
  const headers: string[] = [`Host: ${new URL(world.baseUrl).host}`];
  if (rng.chance(0.85)) headers.push(`Cookie: ${who.cookie}`);
  if (rng.chance(0.1)) headers.push(`Cookie: ${'c=' + 'x'.repeat(rng.int(1000, 20_000))}`);
  if (rng.chance(0.05)) headers.push(`X-Junk: ${rng.string(rng.int(10_000, 40_000))}`);
  if (rng.chance(0.05)) headers.push(`${rng.string(rng.int(1, 20))}: ${rng.string(rng.size(50))}`);
  if (rng.chance(0.1)) headers.push(`Origin: ${rng.pick(['https://evil.example', 'null', world.baseUrl])}`);
  if (rng.chance(0.1)) headers.push(`Range: ${rng.pick(['bytes=0-', 'bytes=-1', 'bytes=99999999-', 'bytes=5-1', 'bytes=a-b'])}`);
  if (rng.chance(0.05)) headers.push(`Content-Encoding: ${rng.pick(['gzip', 'br', 'deflate', 'x-zip'])}`);
  if (upgrade) {
    headers.push('Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.from(rng.bytes(16)).toString('base64')}`);
    const bad = rng.pick(['//', '/collab/%', '/collab/%E0%A4%A', `/collab/session/${world.sessionId}/rubric?participantId=%`, '/collab/', '/socket.io/?EIO=9&transport=websocket', '/socket.io/', 'http://[::1', '/%', '*']);
    return Buffer.from(`GET ${bad} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
  }
  headers.push('Connection: close');
  let body: Buffer = Buffer.alloc(0);
  if (method !== 'GET' || rng.chance(0.1)) {
    const b = randomBody(rng, who);
    body = b.body;
    if (b.type) headers.push(`Content-Type: ${b.type}`);
    const framing = rng.weighted<string>([
      [8, 'length'],
      [1, 'short'],
      [1, 'long'],
      [1, 'chunked'],
      [1, 'none'],
    ]);
    if (framing === 'length') headers.push(`Content-Length: ${body.length}`);
    else if (framing === 'short') headers.push(`Content-Length: ${Math.max(0, body.length - rng.int(1, 10))}`);
    else if (framing === 'long') headers.push(`Content-Length: ${body.length + rng.int(1, 10_000_000)}`);
    else if (framing === 'chunked') {
      headers.push('Transfer-Encoding: chunked');
      body = Buffer.concat([Buffer.from(`${rng.pick([body.length.toString(16), 'zz', 'ffffffffffffffff', '-1'])}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    }
  }
  const version = rng.chance(0.95) ? 'HTTP/1.1' : rng.pick(['HTTP/1.0', 'HTTP/9.9', 'HTTP/1.1 junk', '']);
  return Buffer.concat([Buffer.from(`${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n\r\n`, 'utf8'), body]);
}

/** One participant's HTTP fuzz stream until `until` (`concurrency` requests in flight). */
export async function httpFuzzStream(opts: { rng: Rng; world: World; who: Person; screen: Screen; until: number; stats: HttpStats }): Promise<void> {
  const { rng, world, who, screen, until, stats } = opts;
  while (Date.now() < until) {
    const request = requestBytes(rng, world, who);
    stats.requests++;
    const status = await rawRequest(world, request, rng.chance(0.5), (data) => screenBytes(screen, who, 'http', data));
    stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
  }
}
