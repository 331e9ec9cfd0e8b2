// The y-websocket endpoint at /collab/<docName> on the studio's HTTP server.
//
// Security follows y-redis: permission is decided once at connect, then checked on every
// message *before* anything is decoded into or applied to the document:
// - a read-only connection's Update is refused, and so is a SyncStep2 that carries content
//   the document does not have (y-protocols applies SyncStep2 like an update);
// - a connection may speak for one awareness client ID only (the first it uses; entries for
//   other IDs are dropped);
// - size and rate caps per connection; malformed messages close the connection.
// Every accepted update is appended durably (DocStore) before it is applied and broadcast.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { WebSocketServer, type WebSocket } from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  CLOSE_CODES,
  COLLAB_LIMITS,
  COLLAB_PATH,
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  SYNC_STEP_1,
  SYNC_STEP_2,
  SYNC_UPDATE,
  parseCollabDocName,
  type CloseCode,
} from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { Logger } from '../log.ts';
import type { DocStore } from './doc-store.ts';

/** What a participant may do with a document: decided by the document's owner module. */
export type DocAccess = 'write' | 'read' | 'none';

export interface CollabPolicy {
  /** Access at connect time (and re-checked for each update, e.g. for deadlines). */
  access(participant: Participant, doc: { sessionId: string; kind: 'rubric' | 'written' }, connection: { connectedAt: number }): DocAccess;
  /** Why a read-only connection's change is refused, in words for its user. */
  readOnlyReason?(participant: Participant, doc: { sessionId: string; kind: 'rubric' | 'written' }): string;
  /** A writer's update, checked against the document before it is applied: null when fine. */
  checkUpdate?(
    participant: Participant,
    doc: { sessionId: string; kind: 'rubric' | 'written' },
    current: Y.Doc,
    update: Uint8Array,
  ): { code: CloseCode; reason: string } | null;
}

/** Compact the update log into a snapshot after this many updates to one document. */
const COMPACT_EVERY = 200;

class Connection {
  readonly ws: WebSocket;
  readonly participant: Participant;
  readonly connectedAt = Date.now();
  access: DocAccess;
  awarenessClientId: number | null = null;
  private windowStart = Date.now();
  private count = 0;

  constructor(ws: WebSocket, participant: Participant, access: DocAccess) {
    this.ws = ws;
    this.participant = participant;
    this.access = access;
  }

  withinRate(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    return ++this.count <= COLLAB_LIMITS.maxMessagesPerSecond;
  }
}

/** One live document and everyone connected to it. */
class SharedDoc {
  readonly name: string;
  readonly ydoc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly connections = new Set<Connection>();
  updatesSinceCompaction: number;

  constructor(name: string, ydoc: Y.Doc, pendingUpdates: number) {
    this.name = name;
    this.ydoc = ydoc;
    this.updatesSinceCompaction = pendingUpdates;
    this.awareness = new awarenessProtocol.Awareness(ydoc);
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    ydoc.on('update', (update: Uint8Array) => {
      const message = encodeSync(SYNC_UPDATE, update);
      for (const c of this.connections) send(c.ws, message);
    });
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      const changed = [...added, ...updated, ...removed];
      const message = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
      for (const c of this.connections) send(c.ws, message);
    });
  }
}

export interface CollabServer {
  /** Connected documents (for tests and health). */
  openDocs(): string[];
  /** The live document, if loaded (tests). */
  doc(name: string): Y.Doc | undefined;
  close(): void;
}

export function attachCollab(
  httpServer: HttpServer,
  deps: { auth: ParticipantAuth; store: DocStore; policy: CollabPolicy; log: Logger; heartbeatMs?: number },
): CollabServer {
  const log = deps.log.child({ module: 'collab' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: COLLAB_LIMITS.maxMessageBytes });
  const docs = new Map<string, SharedDoc>();
  let closing = false;

  // Heartbeat: a connection that has not answered the previous ping is dead (a laptop lid
  // closed, a network gone without a FIN). Ending it frees the candidate's written-exercise
  // grace rule and the presence list from a ghost.
  const alive = new WeakMap<WebSocket, boolean>();
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        log.warn({}, 'collab connection missed its heartbeat; closed');
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, deps.heartbeatMs ?? COLLAB_LIMITS.heartbeatMs);
  heartbeat.unref();

  const getDoc = (name: string): SharedDoc => {
    let doc = docs.get(name);
    if (!doc) {
      const { ydoc, pendingUpdates } = deps.store.load(name);
      doc = new SharedDoc(name, ydoc, pendingUpdates);
      docs.set(name, doc);
    }
    return doc;
  };

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/socket.io/')) return; // Socket.IO's own
    if (!url.pathname.startsWith(COLLAB_PATH)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      void onConnection(ws, req, url);
    });
  });

  const refuse = (ws: WebSocket, code: CloseCode, reason: string, context: Record<string, unknown>): void => {
    log.warn({ ...context, code, reason }, 'collab connection refused');
    ws.close(code, reason.slice(0, 120));
  };

  async function onConnection(ws: WebSocket, req: IncomingMessage, url: URL): Promise<void> {
    // Nothing the client sends is read until it is authenticated: messages arriving while
    // authentication runs are dropped with the connection if it fails, and at most a few
    // are buffered by ws meanwhile.
    const early: Buffer[] = [];
    const buffer = (data: Buffer): void => {
      if (early.length >= 16) return refuse(ws, CLOSE_CODES.BadRequest, 'too many messages before authentication', {});
      early.push(data);
    };
    ws.on('message', buffer);

    const docName = decodeURIComponent(url.pathname.slice(COLLAB_PATH.length));
    const parsed = parseCollabDocName(docName);
    if (!parsed) return refuse(ws, CLOSE_CODES.NotFound, 'no such document', { docName: docName.slice(0, 100) });

    const participantId = url.searchParams.get('participantId');
    const token = url.searchParams.get('token');
    const auth = token
      ? await deps.auth.fromToken('invite', token)
      : participantId
        ? await deps.auth.fromCookieHeader(req.headers.cookie, participantId)
        : ({ ok: false, reason: 'missing' } as const);
    if (!auth.ok) return refuse(ws, CLOSE_CODES.Unauthorized, `not authenticated (${auth.reason})`, { docName });
    const participant = auth.participant;
    const context = { docName, participantId: participant.id, role: participant.role };
    if (participant.sessionId !== parsed.sessionId) return refuse(ws, CLOSE_CODES.Forbidden, 'not your session', context);
    const access = deps.policy.access(participant, parsed, { connectedAt: Date.now() });
    if (access === 'none') return refuse(ws, CLOSE_CODES.Forbidden, `a ${participant.role} may not open this document`, context);

    const doc = getDoc(docName);
    const conn = new Connection(ws, participant, access);
    doc.connections.add(conn);
    log.info({ ...context, access }, 'collab connected');

    const close = (code: CloseCode, reason: string): void => {
      log.warn({ ...context, code, reason }, 'collab message refused');
      ws.close(code, reason.slice(0, 120));
    };

    const onMessage = (data: Buffer): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (!conn.withinRate()) return close(CLOSE_CODES.RateLimited, 'too many messages');
      const result = handleMessage(doc, conn, new Uint8Array(data), parsed, { ...deps, log });
      if (result) close(result.code, result.reason);
    };
    ws.off('message', buffer);
    ws.on('message', onMessage);

    ws.on('close', () => {
      if (closing) return; // close() compacted and dropped every document already
      doc.connections.delete(conn);
      if (conn.awarenessClientId !== null) {
        awarenessProtocol.removeAwarenessStates(doc.awareness, [conn.awarenessClientId], null);
      }
      if (doc.connections.size === 0) {
        if (doc.updatesSinceCompaction > 0) deps.store.compact(docName, doc.ydoc);
        doc.ydoc.destroy();
        docs.delete(docName);
      }
    });
    ws.on('error', (err) => log.warn({ ...context, err: err.message }, 'collab socket error'));

    // Greeting: the server's state vector, and who else is here.
    send(ws, encodeSync(SYNC_STEP_1, Y.encodeStateVector(doc.ydoc)));
    const states = [...doc.awareness.getStates().keys()];
    if (states.length > 0) send(ws, encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(doc.awareness, states)));
    for (const data of early) onMessage(data);
  }

  return {
    openDocs: () => [...docs.keys()],
    doc: (name) => docs.get(name)?.ydoc,
    close() {
      closing = true;
      clearInterval(heartbeat);
      for (const doc of docs.values()) {
        for (const c of doc.connections) c.ws.terminate();
        if (doc.updatesSinceCompaction > 0) deps.store.compact(doc.name, doc.ydoc);
      }
      docs.clear();
      wss.close();
    },
  };
}

/** Handles one message; returns a reason to close the connection, or nothing. */
function handleMessage(
  doc: SharedDoc,
  conn: Connection,
  data: Uint8Array,
  target: { sessionId: string; kind: 'rubric' | 'written' },
  deps: { store: DocStore; policy: CollabPolicy; log: Logger },
): { code: CloseCode; reason: string } | undefined {
  if (data.length === 0) return { code: CLOSE_CODES.BadRequest, reason: 'empty message' };
  if (data.length > COLLAB_LIMITS.maxMessageBytes) return { code: CLOSE_CODES.MessageTooBig, reason: 'message too big' };
  try {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC: {
        const step = decoding.readVarUint(decoder);
        if (step === SYNC_STEP_1) {
          const stateVector = decoding.readVarUint8Array(decoder);
          send(conn.ws, encodeSync(SYNC_STEP_2, Y.encodeStateAsUpdate(doc.ydoc, stateVector)));
          return undefined;
        }
        if (step !== SYNC_STEP_2 && step !== SYNC_UPDATE) return { code: CLOSE_CODES.BadRequest, reason: `unknown sync step ${step}` };
        const update = decoding.readVarUint8Array(decoder);
        // Parse fully before anything touches the document: malformed bytes end here.
        Y.decodeUpdate(update);
        // Access may have changed since connect (e.g. a written exercise's deadline passed).
        conn.access = deps.policy.access(conn.participant, target, conn);
        if (conn.access !== 'write') {
          if (step === SYNC_STEP_2 && !addsContent(doc.ydoc, update)) return undefined;
          return { code: CLOSE_CODES.Forbidden, reason: deps.policy.readOnlyReason?.(conn.participant, target) ?? 'read-only: changes are not accepted' };
        }
        const refused = deps.policy.checkUpdate?.(conn.participant, target, doc.ydoc, update);
        if (refused) return refused;
        deps.store.append(doc.name, update);
        Y.applyUpdate(doc.ydoc, update, conn);
        if (++doc.updatesSinceCompaction >= COMPACT_EVERY) {
          deps.store.compact(doc.name, doc.ydoc);
          doc.updatesSinceCompaction = 0;
        }
        return undefined;
      }
      case MESSAGE_AWARENESS: {
        const update = decoding.readVarUint8Array(decoder);
        const entries = awarenessEntries(update);
        conn.awarenessClientId ??= entries[0]?.clientId ?? null;
        // Entries for other client IDs are dropped, not applied (stock providers re-send the
        // removal of peers that timed out, so closing the connection would cut them off).
        const own = entries.filter((e) => e.clientId === conn.awarenessClientId);
        if (own.length < entries.length) {
          deps.log.warn({ participantId: conn.participant.id, role: conn.participant.role, dropped: entries.length - own.length }, 'awareness for another client ID dropped');
        }
        if (own.length > 0) awarenessProtocol.applyAwarenessUpdate(doc.awareness, encodeAwarenessEntries(own), conn);
        return undefined;
      }
      case MESSAGE_QUERY_AWARENESS:
        send(conn.ws, encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(doc.awareness, [...doc.awareness.getStates().keys()])));
        return undefined;
      case MESSAGE_AUTH:
        return undefined;
      default:
        return { code: CLOSE_CODES.BadRequest, reason: `unknown message type ${type}` };
    }
  } catch (error) {
    return { code: CLOSE_CODES.BadRequest, reason: `malformed message: ${(error as Error).message}` };
  }
}

/** Whether applying `update` would change `doc` (new items or new deletions). */
function addsContent(doc: Y.Doc, update: Uint8Array): boolean {
  const probe = new Y.Doc({ gc: false });
  Y.applyUpdate(probe, Y.encodeStateAsUpdate(doc));
  const before = Y.snapshot(probe);
  Y.applyUpdate(probe, update);
  const changed = !Y.equalSnapshots(before, Y.snapshot(probe)) || probe.store.pendingStructs !== null;
  probe.destroy();
  return changed;
}

interface AwarenessEntry {
  clientId: number;
  clock: number;
  state: string;
}

/** An awareness update's entries (wire format: count, then clientID, clock, JSON state). */
function awarenessEntries(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ clientId: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder), state: decoding.readVarString(decoder) });
  }
  return entries;
}

function encodeAwarenessEntries(entries: AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(encoder, e.clientId);
    encoding.writeVarUint(encoder, e.clock);
    encoding.writeVarString(encoder, e.state);
  }
  return encoding.toUint8Array(encoder);
}

function encodeSync(step: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

function encodeAwareness(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

function send(ws: WebSocket, message: Uint8Array): void {
  if (ws.readyState === ws.OPEN) ws.send(message);
}
