// Socket.IO fuzz streams: signed-in participants (and some with broken handshakes) send random
// event names with random payloads — wrong types, huge strings, deep nesting, prototype keys,
// binary — with and without acknowledgements, and raw Socket.IO frames the client library
// would never write.
import { io, type Socket } from 'socket.io-client';
import { REQUEST_NAMES } from '../../shared/protocol-schemas.ts';
import type { Rng } from './rng.ts';
import { screenBytes, type Screen } from './collab-streams.ts';
import type { Person, World } from './world.ts';

export interface SocketStats {
  connections: number;
  refusedHandshakes: number;
  events: number;
  acks: number;
  /** Acknowledged replies by outcome (`ok` or an error code). */
  replies: Map<string, number>;
}

export function newSocketStats(): SocketStats {
  return { connections: 0, refusedHandshakes: 0, events: 0, acks: 0, replies: new Map() };
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const EVENT_NAMES = [
  ...REQUEST_NAMES,
  'unknownEvent',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'error',
  'message',
  'ping',
  'connect',
  'disconnect',
  'newListener',
  '',
];

export function randomJson(rng: Rng, tag: string, depth = 0): unknown {
  if (depth > 4) return rng.int(-5, 5);
  return rng.weighted<() => unknown>([
    [3, () => rng.int(-(2 ** 31), 2 ** 31)],
    [1, () => rng.pick([0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2])],
    [3, () => rng.string(rng.size(200))],
    [1, () => `${tag}${'s'.repeat(rng.int(60_000, 70_000))}`],
    [1, () => rng.pick([null, true, false, 'send', 'recv', 'start', 'advance', 'pause', 'audio', 'video', 'camera'])],
    [2, () => Array.from({ length: rng.int(0, 5) }, () => randomJson(rng, tag, depth + 1))],
    [3, () => {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 5); i > 0; i--) {
        o[rng.pick(['action', 'direction', 'transportId', 'producerId', 'consumerId', 'kind', 'source', 'protocolVersion', 'clientSentAt', 'rtpParameters', 'dtlsParameters', 'rtpCapabilities', 'reason', 'seconds', 'fromPhaseIndex', rng.string(5)])] =
          randomJson(rng, tag, depth + 1);
      }
      return o;
    }],
    [1, () => JSON.parse(`{"__proto__":{"polluted":"${tag}","role":"coordinator"},"constructor":{"prototype":{"polluted":"${tag}"}}}`) as unknown],
    [1, () => nested(rng.int(100, 3000))],
  ])();
}

function nested(depth: number): unknown {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** A payload for `event`: now and then a well-formed one, so that handlers run past validation. */
/** Ids the server handed this connection (transports): well-formed requests can name real ones. */
interface Known {
  transportIds: string[];
}

function payloadFor(rng: Rng, event: string, tag: string, known: Known): unknown {
  if (known.transportIds.length > 0 && rng.chance(0.4)) {
    const transportId = rng.pick(known.transportIds);
    switch (event) {
      case 'connectTransport':
        return { transportId, dtlsParameters: { role: rng.pick(['client', 'server', 'auto']), fingerprints: [{ algorithm: rng.pick(['sha-256', 'md5', 'x']), value: rng.string(rng.size(120)) }] } };
      case 'restartIce':
        return { transportId };
      case 'produce':
        return {
          transportId,
          kind: rng.pick(['audio', 'video']),
          source: rng.pick(['camera', 'microphone']),
          rtpParameters: {
            mid: rng.string(3),
            codecs: [{ mimeType: rng.pick(['video/VP8', 'audio/opus', 'video/H264', 'x/y']), payloadType: rng.int(-1, 200), clockRate: rng.pick([90000, 48000, 0, -1]), channels: rng.int(0, 3), parameters: randomJson(rng, tag) }],
            encodings: [{ ssrc: rng.int(-1, 2 ** 32), rid: rng.chance(0.5) ? rng.string(3) : undefined }],
            headerExtensions: [{ uri: rng.string(20), id: rng.int(-1, 20) }],
            rtcp: { cname: rng.string(rng.size(64)) },
          },
        };
      case 'consume':
        return { producerId: rng.string(36), rtpCapabilities: { codecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000, preferredPayloadType: rng.int(0, 200) }] } };
    }
  }
  if (rng.chance(0.3)) {
    switch (event) {
      case 'join':
        return { protocolVersion: rng.pick([1, 1, 0, 2]) };
      case 'createTransport':
        return { direction: rng.pick(['send', 'recv']) };
      case 'connectTransport':
        return { transportId: rng.string(36), dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: rng.string(95) }] } };
      case 'produce':
        return { transportId: rng.string(36), kind: 'video', source: 'camera', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }] } };
      case 'consume':
        return { producerId: rng.string(36), rtpCapabilities: { codecs: [{ kind: 'video', mimeType: 'video/VP8' }] } };
      case 'clockSync':
        return { clientSentAt: rng.pick([Date.now(), -1, 1e300]) };
      case 'dayControl':
        // Never a valid control: the honest candidate writes during the day's written phase.
        return { action: rng.pick(['extend', 'pause']), seconds: 0, reason: '' };
    }
  }
  return randomJson(rng, tag);
}

/** A raw Socket.IO packet (type digit, namespace, ack id, JSON) the client library would not write. */
function rawFrame(rng: Rng, tag: string): string {
  return rng.pick([
    '2',
    '42',
    '42[',
    '42{}',
    '42[]',
    '42[1,2,3]',
    `42["join",{"protocolVersion":1}`,
    `421["clockSync",{"clientSentAt":1}]`,
    `4299999999999999999999["clockSync",{"clientSentAt":1}]`,
    `451-["join",{"_placeholder":true,"num":0}]`,
    `459999-["join",{"_placeholder":true,"num":99}]`,
    `43["x"]`,
    `46["x"]`,
    `40/admin,`,
    `42/nope,["join",{}]`,
    `42["__proto__",{"polluted":"${tag}"}]`,
    `42["join",${'['.repeat(5000)}${']'.repeat(5000)}]`,
    `4${rng.string(rng.size(300))}`,
    rng.string(rng.size(100)),
  ]);
}

/** One participant's Socket.IO fuzz stream until `until`. */
export async function socketFuzzStream(opts: { rng: Rng; world: World; who: Person; screen: Screen; until: number; stats: SocketStats }): Promise<void> {
  const { rng, world, who, screen, until, stats } = opts;
  const mark = `fz${who.tag}zz`;
  while (Date.now() < until) {
    const goodHandshake = rng.chance(0.85);
    const socket: Socket = io(world.baseUrl, {
      auth: goodHandshake ? { participantId: who.id } : (randomJson(rng, mark) as object),
      extraHeaders: { cookie: rng.chance(0.95) ? who.cookie : `simstudio=${rng.string(30)}` },
      transports: [rng.chance(0.8) ? 'websocket' : 'polling'],
      reconnection: false,
      forceNew: true,
      timeout: 10_000,
    });
    stats.connections++;
    socket.onAny((event: string, ...args: unknown[]) => screenBytes(screen, who, `socket.io:${event}`, safeJson(args)));
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('connect_error', () => resolve(false));
      socket.once('disconnect', () => resolve(false));
    });
    if (!connected) {
      stats.refusedHandshakes++;
      socket.close();
      continue;
    }
    // Half the connections join the media room first and open transports, so that requests
    // naming real transports reach mediasoup's own parameter checks.
    const known: Known = { transportIds: [] };
    if (rng.chance(0.5)) {
      const reply = (event: string, payload: unknown): Promise<{ ok?: boolean; data?: { id?: string } } | null> =>
        socket.timeout(10_000).emitWithAck(event, payload).then((r: unknown) => r as { ok?: boolean; data?: { id?: string } }, () => null);
      if ((await reply('join', { protocolVersion: 1 }))?.ok) {
        for (const direction of ['send', 'recv']) {
          const created = await reply('createTransport', { direction });
          if (created?.ok && typeof created.data?.id === 'string') known.transportIds.push(created.data.id);
        }
      }
    }
    const burst = rng.weighted<number>([
      [6, rng.int(1, 30)],
      [2, rng.int(30, 120)],
      [1, rng.int(300, 500)], // past the flood cut-off
    ]);
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < burst && socket.connected && Date.now() < until; i++) {
      stats.events++;
      const roll = rng.float();
      if (roll < 0.03) {
        socket.io.engine.write(rawFrame(rng, mark));
      } else {
        const event = rng.chance(0.8) ? rng.pick(EVENT_NAMES) : rng.string(rng.size(80));
        const args: unknown[] = rng.chance(0.1) ? [] : [payloadFor(rng, event, mark, known)];
        if (rng.chance(0.1)) args.push(rng.chance(0.5) ? Buffer.from(rng.bytes(rng.size(2000))) : randomJson(rng, mark));
        if (rng.chance(0.75)) {
          stats.acks++;
          pending.push(
            new Promise<void>((resolve) => {
              const send = (socket as unknown as { packet: (p: unknown) => void }).packet.bind(socket);
              const ackId = Math.floor(rng.float() * 1e6);
              // Through the library for ordinary names (it tracks the ack), by hand for reserved ones.
              try {
                socket.timeout(5000).emit(event, ...args, (err: Error | null, reply: unknown) => {
                  const outcome = err ? (socket.connected ? 'timeout' : 'disconnected') : ((reply as { ok?: boolean; error?: { code?: string } } | null)?.ok ? 'ok' : String((reply as { error?: { code?: string } } | null)?.error?.code ?? 'malformed'));
                  stats.replies.set(outcome, (stats.replies.get(outcome) ?? 0) + 1);
                  resolve();
                });
              } catch {
                send({ type: 2, data: [event, ...args], id: ackId, nsp: '/' });
                resolve();
              }
            }),
          );
        } else {
          try {
            socket.emit(event, ...args);
          } catch {
            (socket as unknown as { packet: (p: unknown) => void }).packet({ type: 2, data: [event, ...args], nsp: '/' });
          }
        }
      }
      if (burst < 200) await delay(rng.int(0, 10));
    }
    await Promise.race([Promise.all(pending), delay(6000)]);
    socket.close();
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
