// With several nodes, one node serves a session at a time: the holder of its lease, whose
// mediasoup router carries the call. The balancer sends a session's people to one node, but a
// person can still land on another (a balancer whose routing table differs, a reconnect during
// a failover). Such a node does not serve them itself — that would split the call across two
// routers — it passes their signalling connection on to the holder, byte for byte (the holder
// checks the sign-in, the origin and everything else as for anyone). When the holder cannot be
// reached, or no live node holds the session, the node serves them itself (and takes the lease).
import net from 'node:net';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { SESSION_ROUTING_PARAM } from '../../shared/protocol.ts';
import type { Database } from '../db/engine.ts';
import type { Logger } from '../log.ts';
import { LogBudget } from '../log-budget.ts';

/** Marks a connection already passed on once: it is never passed on again (no loops while a
 *  lease moves). A client that sends it itself is only served where it landed: its own call. */
export const PASSED_ON_HEADER = 'x-simstudio-passed-on-by';
/** How long a holder's last stamp may be old for it to count as alive. */
const HOLDER_SEEN_WITHIN_MS = 5_000;
/** How long to wait for the holder to answer the connection before serving it here. */
const ANSWER_TIMEOUT_MS = 3_000;
const SESSION_ID = /^[A-Za-z0-9-]{1,64}$/;

export interface SessionHolder {
  node: string;
  /** http://host:port */
  address: string;
}

/** The live node other than `node` holding the session's lease, with its address, if any. */
export function holderElsewhere(db: Database, node: string, sessionId: string, now = Date.now()): SessionHolder | undefined {
  const row = db
    .prepare(
      `SELECT l.node, n.address FROM session_leases l JOIN cluster_nodes n ON n.node = l.node
       WHERE l.session_id = ? AND l.expires_at > ? AND l.node <> ? AND n.seen_at >= ? AND n.address IS NOT NULL`,
    )
    .get(sessionId, now, node, now - HOLDER_SEEN_WITHIN_MS) as { node: string; address: string } | undefined;
  return row && { node: row.node, address: row.address };
}

/**
 * Puts itself in front of the server's other WebSocket upgrade handlers (install it after them):
 * a Socket.IO upgrade routed by a session another live node holds is passed on to that node;
 * every other upgrade goes to the handlers as before.
 */
export function passSessionsToHolders(httpServer: HttpServer, deps: { node: string; holderOf: (sessionId: string) => SessionHolder | undefined; log: Logger }): void {
  const log = new LogBudget(deps.log.child({ module: 'session-proxy' }), 20);
  const handlers = httpServer.listeners('upgrade') as Array<(req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  httpServer.removeAllListeners('upgrade');
  const serveHere = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    for (const handler of handlers) handler.call(httpServer, req, socket, head);
  };
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const sessionId = routedSession(req);
    let holder: SessionHolder | undefined;
    try {
      holder = sessionId && req.headers[PASSED_ON_HEADER] === undefined ? deps.holderOf(sessionId) : undefined;
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'who holds the session is unknown: served here');
    }
    if (!holder) return serveHere(req, socket, head);
    passOn(req, socket, head, holder, deps.node, log, () => serveHere(req, socket, head));
  });
}

/** The session a Socket.IO upgrade is routed by (its `?session=`), if well formed. */
function routedSession(req: IncomingMessage): string | undefined {
  const url = req.url ?? '';
  if (!url.startsWith('/socket.io/')) return undefined;
  const query = url.indexOf('?');
  if (query < 0) return undefined;
  const sessionId = new URLSearchParams(url.slice(query + 1)).get(SESSION_ROUTING_PARAM);
  return sessionId && SESSION_ID.test(sessionId) ? sessionId : undefined;
}

function passOn(req: IncomingMessage, client: Duplex, head: Buffer, holder: SessionHolder, node: string, log: LogBudget, serveHere: () => void): void {
  const { hostname, port } = new URL(holder.address);
  const upstream = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
  // Until the holder answers, nothing has gone back to the person: if it does not answer (a
  // stalled node accepts connections but says nothing) or cannot be reached, they are served here.
  let answered = false;
  let gaveUp = false;
  const giveUp = (why: string): void => {
    if (answered || gaveUp) return;
    gaveUp = true;
    upstream.destroy();
    log.warn({ holder: holder.node, why }, 'session holder did not take the connection: served here');
    serveHere();
  };
  const timer = setTimeout(() => giveUp(`no answer within ${ANSWER_TIMEOUT_MS} ms`), ANSWER_TIMEOUT_MS);
  upstream.once('error', (error) => {
    clearTimeout(timer);
    if (answered) client.destroy();
    else giveUp(error.message);
  });
  upstream.once('connect', () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    lines.push(`${PASSED_ON_HEADER}: ${node}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
  });
  upstream.once('data', (first: Buffer) => {
    if (gaveUp) return;
    answered = true;
    clearTimeout(timer);
    client.write(first);
    upstream.pipe(client);
    client.pipe(upstream);
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  upstream.on('close', () => {
    clearTimeout(timer);
    if (!answered) giveUp('the holder closed the connection');
  });
}
