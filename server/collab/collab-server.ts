// The y-websocket endpoint at /collab/<docName> on the studio's HTTP server.
//
// Security follows y-redis: permission is decided once at connect, then checked on every
// message *before* anything is decoded into or applied to the document:
// - a read-only connection's Update is refused, and so is a SyncStep2 that carries content
//   the document does not have (y-protocols applies SyncStep2 like an update);
// - a writer's update is inspected struct by struct by the document's policy (who owns each
//   key, valid values, nothing left pending) before it is applied;
// - a "withheld" connection (e.g. a co-observer's sheet before it is submitted) is kept open
//   but receives no byte of the document until the policy lets it read;
// - a connection may speak for one awareness client ID only (the first it uses);
// - size and rate caps per connection; malformed messages close the connection.
// Nothing a client sends may end the process: every handler is total, and a failure inside
// one is a typed close (4500), logged at a limited rate.
// Every accepted update is stored durably before its author hears it back (the echo that
// turns their edit from "pending" to "saved": nothing acknowledged is lost). Updates are
// applied at once (so the next message is checked against them) and sent to the document's
// other connections at once; the author's echo waits for their group commit: the updates
// accepted while one commit is in flight (or in one turn of the event loop) share the next
// transaction and its fsync, which runs on the writer thread (update-writer.ts) while this one
// goes on serving. If a commit fails, the documents concerned are dropped from memory and
// their connections closed (4500): authors still hold their unacknowledged edits and send them
// again on reconnect, to a document reloaded from what was stored; a reader's copy of them is
// not taken back from the reader (only the author's is).
// With several studio nodes (CollabFanOut, through Redis) each stored update also goes to the
// other nodes, which apply it to their live copy of the document and send it to their clients.
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
  type CollabTarget,
} from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { signInKey, type AuthProof, type ParticipantAuth } from '../auth/participant-auth.ts';
import { revalidateInSlices } from '../auth/revalidation.ts';
import { everyInSlices } from '../in-slices.ts';
import type { Logger } from '../log.ts';
import type { DocStore } from './doc-store.ts';
import type { StoredUpdate } from './update-writer.ts';

/**
 * What a participant may do with a document, decided by the document's owner module:
 * write; read; withheld (connected, but sent nothing of the document until it may read);
 * none (refused at connect).
 */
export type DocAccess = 'write' | 'read' | 'withheld' | 'none';

/** An update as received, decoded once: every check reads the same decoded structs. */
export interface IncomingUpdate {
  bytes: Uint8Array;
  decoded: DecodedUpdate;
}

export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>;

export interface Refusal {
  code: CloseCode;
  reason: string;
}

/** What the policy knows of one connection. */
export interface CollabConnection {
  readonly id: number;
  readonly connectedAt: number;
  /** When the server last heard from it (a message or a heartbeat pong). */
  readonly lastSeenAt: number;
}

export interface CollabPolicy {
  /** Access at connect time, re-checked for each update and after each accepted change. */
  access(participant: Participant, target: CollabTarget, doc: Y.Doc, connection: CollabConnection): DocAccess;
  /** Whether this participant is the one who writes this document (whatever their access now). */
  isAuthor?(participant: Participant, target: CollabTarget): boolean;
  /** Why a read-only connection's change is refused, in words for its user. */
  readOnlyReason?(participant: Participant, target: CollabTarget, doc: Y.Doc): string;
  /** Largest message accepted for this document (default COLLAB_LIMITS.maxMessageBytes). */
  maxMessageBytes?(target: CollabTarget): number;
  /** A writer's update, checked against the document before it is applied: null when fine. */
  checkUpdate?(
    participant: Participant,
    target: CollabTarget,
    current: Y.Doc,
    update: IncomingUpdate,
    context: { connection: CollabConnection; step: 'sync-step-2' | 'update'; uncommittedBytes: number },
  ): Refusal | null;
  /** Whether this document carries presence (awareness); off for private sheets. */
  awareness?(target: CollabTarget): boolean;
  /** Lifecycle of a connection that passed authentication (e.g. who was online at a deadline). */
  connected?(participant: Participant, target: CollabTarget, connection: CollabConnection): void;
  disconnected?(participant: Participant, target: CollabTarget, connection: CollabConnection): void;
}

/** Compact the update log into a snapshot after this many updates to one document. */
const COMPACT_EVERY = 200;
/** Commit at once, without waiting for the end of the loop turn, past this many bytes. */
const COMMIT_AT_BYTES = 256 * 1024;
/** The heartbeat's round is spread over this many ticks. */
const HEARTBEAT_SLICES = 30;
/** What a withheld reader is greeted with: the state vector and the update of an empty document. */
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());

let nextConnectionId = 1;

class Connection implements CollabConnection {
  readonly id = nextConnectionId++;
  readonly ws: WebSocket;
  readonly participant: Participant;
  readonly connectedAt = Date.now();
  lastSeenAt = this.connectedAt;
  access: DocAccess;
  awarenessClientId: number | null = null;
  /** What the sign-in rests on, checked again every few seconds. */
  readonly proof: AuthProof;
  private windowStart = Date.now();
  private count = 0;

  constructor(ws: WebSocket, participant: Participant, access: DocAccess, proof: AuthProof) {
    this.ws = ws;
    this.participant = participant;
    this.access = access;
    this.proof = proof;
  }

  /** Whether this connection may be sent the document's content. */
  get sees(): boolean {
    return this.access === 'write' || this.access === 'read';
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

/** The origin of updates that another studio node stored: applied and sent, never stored again. */
const FROM_ANOTHER_NODE = Symbol('another studio node');

/**
 * Stored updates between studio nodes that share a database (server/cluster/): each node's
 * live copy of a document follows what the others store of it.
 */
export interface CollabFanOut {
  /** A stored update of a document, for the other nodes. */
  publish(doc: string, update: Uint8Array): void;
  /** Documents rewritten in the store (erasure): the other nodes drop their live copies. */
  publishReload(docs: readonly string[]): void;
  /** The other nodes' stored updates and rewrites; `resync` when some may have been missed (a lost link). */
  listen(handlers: { update: (doc: string, update: Uint8Array) => void; reload: (docs: readonly string[]) => void; resync: () => void }): void;
}

/** One live document and everyone connected to it. */
class SharedDoc {
  readonly name: string;
  readonly target: CollabTarget;
  readonly ydoc: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly connections = new Set<Connection>();
  /** Updates logged after the snapshot this copy started from (all of them applied here). */
  updatesSinceCompaction: number;
  /** That snapshot (its last logged update's id; 0: none). */
  snapshotUpto: number;
  /** Updates applied here but not yet committed to the store. */
  uncommitted = 0;
  /** Bytes of those updates (a size cap must count them too). */
  uncommittedBytes = 0;
  /** Updates accepted so far, and how many of them are stored (batches are stored in order). */
  private acceptedCount = 0;
  private storedCount = 0;
  /**
   * Sends held until what they carry is stored, in the order they were asked for: an update's
   * broadcast until that update is (`after`: its number), anything that encodes the document as
   * it is then (a sync reply, a greeting) until all is (`after`: null). Holding every send until
   * nothing at all was uncommitted starved readers while a writer kept typing faster than the
   * database committed: no edit reached them until the writer paused.
   */
  private held: Array<{ after: number | null; send: () => void }> = [];

  constructor(name: string, target: CollabTarget, stored: ReturnType<DocStore['load']>, fanOut: CollabFanOut | undefined) {
    const { ydoc } = stored;
    this.name = name;
    this.target = target;
    this.ydoc = ydoc;
    this.updatesSinceCompaction = stored.pendingUpdates;
    this.snapshotUpto = stored.snapshotUpto;
    this.awareness = new awarenessProtocol.Awareness(ydoc);
    // The server has no presence of its own.
    this.awareness.setLocalState(null);
    ydoc.on('update', (update: Uint8Array, origin: unknown) => {
      const message = encodeSync(SYNC_UPDATE, update);
      if (origin instanceof Connection) {
        // A client's update, checked and applied: everyone else sees it now (as with any
        // y-websocket server); its author hears it back (their "saved") and the other nodes
        // get it only once it is stored (see `accepted`: it was counted before it was applied).
        for (const c of this.connections) if (c !== origin && c.sees) send(c.ws, message);
        this.hold(this.acceptedCount, () => {
          if (this.connections.has(origin) && origin.sees) send(origin.ws, message);
          fanOut?.publish(name, update);
        });
        return;
      }
      // One from another node is stored already; it keeps its place behind what is held here.
      this.hold(this.acceptedCount, () => {
        for (const c of this.connections) if (c.sees) send(c.ws, message);
        if (origin !== FROM_ANOTHER_NODE) fanOut?.publish(name, update);
      });
    });
    this.awareness.on('update', ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
      const changed = [...added, ...updated, ...removed];
      const message = encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed));
      for (const c of this.connections) if (c.sees) send(c.ws, message);
    });
  }

  /** Runs `send` (which encodes the document as it is then) now, or once all it holds is durable. */
  deliver(send: () => void): void {
    this.hold(null, send);
  }

  /** An update is about to be applied; it is stored later, with its batch. */
  accepted(bytes: number): void {
    this.acceptedCount++;
    this.uncommitted++;
    this.uncommittedBytes += bytes;
  }

  /** The oldest `count` uncommitted updates were stored: release what waited for them. */
  committed(count: number, bytes: number): void {
    this.storedCount += count;
    this.uncommitted -= count;
    this.uncommittedBytes -= bytes;
    this.updatesSinceCompaction += count;
    let released = 0;
    while (released < this.held.length && this.durable(this.held[released]!.after)) released++;
    const ready = this.held.splice(0, released);
    for (const { send } of ready) send();
  }

  private hold(after: number | null, send: () => void): void {
    // Behind anything already held, so that each connection gets its messages in order.
    if (this.held.length === 0 && this.durable(after)) send();
    else this.held.push({ after, send });
  }

  private durable(after: number | null): boolean {
    return after === null ? this.uncommitted === 0 : this.storedCount >= after;
  }
}

export interface CollabServer {
  /** Connected documents (for tests and health). */
  openDocs(): string[];
  /** Open WebSocket connections (health). */
  connectionCount(): number;
  /** The live document, if loaded and all it holds is stored (else read the store). */
  doc(name: string): Y.Doc | undefined;
  /** Whether the document holds accepted updates that are not stored yet. */
  storing(name: string): boolean;
  /** The stored documents were rewritten (erasure): copies held here are dropped, and their
   *  connections told to reconnect, which loads them afresh. */
  reload(names: readonly string[]): void;
  /** Ends every connection once what was accepted is stored. */
  close(): Promise<void>;
}

export interface CollabDeps {
  auth: ParticipantAuth;
  store: DocStore;
  /** Stores a batch of updates in one transaction (default: on this thread, through `store`). */
  write?: (entries: StoredUpdate[]) => Promise<void>;
  policy: CollabPolicy;
  log: Logger;
  heartbeatMs?: number;
  /** Cross-site WebSocket hijacking guard: whether a browser's Origin header is one of ours. */
  originAllowed?: (origin: string | undefined) => boolean;
  /** Why this participant may not open their session's documents now (e.g. they have not
   *  accepted the privacy and recording notices), or undefined when they may. */
  admission?: (participant: Participant) => { message: string } | undefined;
  /** The other studio nodes (with Redis); absent: this process is the only one. */
  fanOut?: CollabFanOut;
}

export function attachCollab(httpServer: HttpServer, deps: CollabDeps): CollabServer {
  const log = deps.log.child({ module: 'collab' });
  const warn = rateLimitedWarn(log);
  const wss = new WebSocketServer({ noServer: true, maxPayload: COLLAB_LIMITS.maxMessageBytes });
  const docs = new Map<string, SharedDoc>();
  let closing = false;

  // Heartbeat: a connection that has not answered the previous ping is dead (a laptop lid
  // closed, a network gone without a FIN). Ending it frees the candidate's written-exercise
  // grace rule and the presence list from a ghost.
  const alive = new WeakMap<WebSocket, boolean>();
  // Each connection is pinged once per interval, a share of them per slice (a ping to every one
  // of 1,200 connections in one tick held every edit up for about 20 ms).
  const stopHeartbeat = everyInSlices<WebSocket>({
    everyMs: deps.heartbeatMs ?? COLLAB_LIMITS.heartbeatMs,
    slices: HEARTBEAT_SLICES,
    items: () => wss.clients,
    visitSlice: (sockets) => {
      for (const ws of sockets) {
        if (ws.readyState !== ws.OPEN) continue;
        if (alive.get(ws) === false) {
          warn({}, 'collab connection missed its heartbeat; closed');
          ws.terminate();
          continue;
        }
        alive.set(ws, false);
        ws.ping();
      }
    },
  });

  // A revoked link, an ended staff sign-in or a removed person loses their documents within
  // a few seconds (issue 13): nothing more is sent to them or accepted from them.
  const stopRevalidation = revalidateInSlices<Connection>({
    connections: () => [...docs.values()].flatMap((doc) => [...doc.connections]),
    isOpen: (c) => c.ws.readyState === c.ws.OPEN,
    stillValid: (connections) => deps.auth.stillValidAll(connections),
    signIn: (c) => signInKey(c.participant, c.proof),
    end: (c) => c.ws.close(CLOSE_CODES.Unauthorized, 'your sign-in has ended'),
    warn,
  });

  const getDoc = (name: string, target: CollabTarget): SharedDoc => {
    let doc = docs.get(name);
    if (!doc) {
      doc = new SharedDoc(name, target, deps.store.load(name), deps.fanOut);
      docs.set(name, doc);
    }
    return doc;
  };

  /** Compacts a document's log into a snapshot (only when all it accepted is stored). */
  const compact = (doc: SharedDoc): void => {
    const upto = deps.store.compact(doc.name, doc.ydoc, { snapshotUpto: doc.snapshotUpto, rows: doc.updatesSinceCompaction });
    if (upto !== null) doc.snapshotUpto = upto;
    doc.updatesSinceCompaction = 0;
  };

  /** Drops a document nobody has open, compacting what it logged (once all of it is stored). */
  const release = (doc: SharedDoc): void => {
    if (doc.connections.size > 0 || doc.uncommitted > 0 || docs.get(doc.name) !== doc) return;
    try {
      if (doc.updatesSinceCompaction > 0) compact(doc);
    } catch (err) {
      // The log still holds every update: the next load replays it.
      warn({ docName: doc.name, err: (err as Error).message }, 'collab compaction failed');
    }
    doc.awareness.destroy();
    doc.ydoc.destroy();
    docs.delete(doc.name);
  };

  // ---- other studio nodes ----
  /** Applies what another node stored to the live copy here (which sends it on to its clients). */
  const fromAnotherNode = (name: string, update: Uint8Array): void => {
    const doc = docs.get(name);
    if (!doc) return; // loaded from the store when next opened
    try {
      Y.applyUpdate(doc.ydoc, update, FROM_ANOTHER_NODE);
    } catch (err) {
      warn({ docName: name, err: (err as Error).message }, 'an update from another studio node could not be applied');
    }
  };
  /** Drops the live copies of documents rewritten in the store; their clients reconnect and load them afresh. */
  const reloadHere = (names: readonly string[]): void => {
    for (const name of names) {
      const doc = docs.get(name);
      if (doc) drop(doc, 'the document was changed on the server; reconnecting');
    }
  };
  deps.fanOut?.listen({
    update: fromAnotherNode,
    reload: reloadHere,
    // Updates may have been missed: each live copy takes what is stored (what it holds already changes nothing).
    resync: () => {
      for (const name of [...docs.keys()]) {
        try {
          fromAnotherNode(name, Y.encodeStateAsUpdate(deps.store.load(name).ydoc));
        } catch (err) {
          warn({ docName: name, err: (err as Error).message }, 'reading a document again after a lost link failed');
        }
      }
    },
  });

  // ---- group commit ----
  const write = deps.write ?? (async (entries: StoredUpdate[]) => deps.store.appendMany(entries));
  let batch: Array<{ doc: SharedDoc; update: Uint8Array }> = [];
  let commitScheduled = false;
  /** Batches handed to the writer and not yet answered (it stores them in order). */
  const inFlight = new Set<Promise<void>>();

  const commit = (): void => {
    commitScheduled = false;
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    const entries = items.map(({ doc, update }) => ({ doc: doc.name, update }));
    const flight = write(entries).then(
      () => {
        deps.store.noteStored(entries);
        stored(items);
      },
      (err: unknown) => failed(items, err),
    );
    inFlight.add(flight);
    void flight.finally(() => inFlight.delete(flight));
  };

  const totalsPerDoc = (items: Array<{ doc: SharedDoc; update: Uint8Array }>): Map<SharedDoc, { count: number; bytes: number }> => {
    const perDoc = new Map<SharedDoc, { count: number; bytes: number }>();
    for (const { doc, update } of items) {
      const totals = perDoc.get(doc) ?? { count: 0, bytes: 0 };
      totals.count++;
      totals.bytes += update.byteLength;
      perDoc.set(doc, totals);
    }
    return perDoc;
  };

  const stored = (items: Array<{ doc: SharedDoc; update: Uint8Array }>): void => {
    for (const [doc, { count, bytes }] of totalsPerDoc(items)) {
      doc.committed(count, bytes);
      // A snapshot holds the document as it is: only when all of that is stored.
      if (doc.updatesSinceCompaction >= COMPACT_EVERY && doc.uncommitted === 0 && !closing) {
        try {
          compact(doc);
        } catch (err) {
          warn({ docName: doc.name, err: (err as Error).message }, 'collab compaction failed');
        }
      }
      release(doc);
    }
  };

  const failed = (items: Array<{ doc: SharedDoc; update: Uint8Array }>, err: unknown): void => {
    // Nothing of this batch was stored: forget it here too, so that its authors are never told
    // it is saved. What these documents accepted since builds on it, so it goes too (the
    // authors send it all again on reconnect).
    const lost = new Set(totalsPerDoc(items).keys());
    warn({ err: (err as Error)?.message, docs: lost.size }, 'collab updates could not be stored; documents reloaded');
    batch = batch.filter((item) => !lost.has(item.doc));
    for (const doc of lost) drop(doc);
  };

  /** An accepted update: applied now, stored with its batch, sent once stored. */
  const accept = (doc: SharedDoc, update: Uint8Array, origin: Connection): void => {
    doc.accepted(update.byteLength);
    batch.push({ doc, update });
    Y.applyUpdate(doc.ydoc, update, origin);
    if (doc.uncommittedBytes >= COMMIT_AT_BYTES) commit();
    else if (!commitScheduled) {
      commitScheduled = true;
      setImmediate(commit);
    }
  };

  /** A document whose updates could not be stored: closed for everyone, reloaded on next use. */
  const drop = (doc: SharedDoc, reason = 'your last change could not be stored; reconnecting'): void => {
    if (docs.get(doc.name) === doc) docs.delete(doc.name);
    for (const c of doc.connections) c.ws.close(CLOSE_CODES.ServerError, reason);
    doc.connections.clear();
    doc.awareness.destroy();
    doc.ydoc.destroy();
  };

  const rejectUpgrade = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Socket.IO handles its own upgrades on the same server.
    if ((req.url ?? '').startsWith('/socket.io/')) return;
    let pathname: string;
    let params: URLSearchParams;
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      pathname = url.pathname;
      params = url.searchParams;
    } catch {
      return rejectUpgrade(socket, '400 Bad Request');
    }
    if (!pathname.startsWith(COLLAB_PATH)) return rejectUpgrade(socket, '404 Not Found');
    if (deps.originAllowed && !deps.originAllowed(req.headers.origin)) {
      warn({ origin: String(req.headers.origin).slice(0, 100) }, 'collab upgrade from a foreign origin refused');
      return rejectUpgrade(socket, '403 Forbidden');
    }
    let docName: string;
    try {
      docName = decodeURIComponent(pathname.slice(COLLAB_PATH.length));
    } catch {
      return rejectUpgrade(socket, '400 Bad Request');
    }
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      onConnection(ws, req, docName, params).catch((err: unknown) => {
        warn({ err: (err as Error)?.message }, 'collab connection failed');
        ws.close(CLOSE_CODES.ServerError, 'server error');
      });
    });
  });

  const refuse = (ws: WebSocket, code: CloseCode, reason: string, context: Record<string, unknown>): void => {
    warn({ ...context, code, reason }, 'collab connection refused');
    ws.close(code, reason.slice(0, 120));
  };

  async function onConnection(ws: WebSocket, req: IncomingMessage, docName: string, params: URLSearchParams): Promise<void> {
    // The socket may reset while authentication runs: remember that, so nothing registers
    // a connection that is already gone (it would keep its document in memory forever).
    let gone = false;
    ws.once('close', () => (gone = true));
    ws.on('error', (err) => warn({ err: err.message }, 'collab socket error'));
    // Nothing the client sends is read until it is authenticated: messages arriving while
    // authentication runs are buffered (a few at most) and dropped if it fails.
    const early: Buffer[] = [];
    const buffer = (data: Buffer): void => {
      if (early.length >= 16) return refuse(ws, CLOSE_CODES.BadRequest, 'too many messages before authentication', {});
      early.push(data);
    };
    ws.on('message', buffer);

    const target = parseCollabDocName(docName);
    if (!target) return refuse(ws, CLOSE_CODES.NotFound, 'no such document', { docName: docName.slice(0, 100) });

    const participantId = params.get('participantId');
    const token = params.get('token');
    const auth = token
      ? await deps.auth.fromToken('invite', token)
      : participantId
        ? await deps.auth.fromCookieHeader(req.headers.cookie, participantId)
        : ({ ok: false, reason: 'missing' } as const);
    if (gone || closing) return;
    if (!auth.ok) return refuse(ws, CLOSE_CODES.Unauthorized, `not authenticated (${auth.reason})`, { docName });
    const participant = auth.participant;
    const context = { docName, participantId: participant.id, role: participant.role };
    if (participant.sessionId !== target.sessionId) return refuse(ws, CLOSE_CODES.Forbidden, 'not your session', context);
    const refusal = deps.admission?.(participant);
    if (refusal) return refuse(ws, CLOSE_CODES.Forbidden, refusal.message, context);

    const doc = getDoc(docName, target);
    const conn = new Connection(ws, participant, 'none', auth.proof);
    conn.access = deps.policy.access(participant, target, doc.ydoc, conn);
    if (conn.access === 'none') {
      release(doc);
      return refuse(ws, CLOSE_CODES.Forbidden, `a ${participant.role} may not open this document`, context);
    }
    doc.connections.add(conn);
    deps.policy.connected?.(participant, target, conn);
    log.debug({ ...context, access: conn.access }, 'collab connected');

    const close = (code: CloseCode, reason: string): void => {
      warn({ ...context, code, reason }, 'collab message refused');
      ws.close(code, reason.slice(0, 120));
    };

    const onMessage = (data: Buffer): void => {
      if (ws.readyState !== ws.OPEN) return;
      conn.lastSeenAt = Date.now();
      if (!conn.withinRate()) return close(CLOSE_CODES.RateLimited, 'too many messages');
      let result: Refusal | undefined;
      try {
        result = handleMessage(doc, conn, new Uint8Array(data), { policy: deps.policy, accept, warn });
      } catch (err) {
        // A bug of ours, not the client's: refuse the message, keep the process and the document.
        warn({ ...context, err: (err as Error).message }, 'collab message handler failed');
        result = { code: CLOSE_CODES.ServerError, reason: 'server error' };
      }
      if (result) close(result.code, result.reason);
    };
    ws.off('message', buffer);
    ws.on('message', onMessage);
    ws.on('pong', () => (conn.lastSeenAt = Date.now()));

    ws.on('close', () => {
      if (closing) return; // close() compacted and dropped every document already
      doc.connections.delete(conn);
      try {
        deps.policy.disconnected?.(participant, target, conn);
        if (conn.awarenessClientId !== null) awarenessProtocol.removeAwarenessStates(doc.awareness, [conn.awarenessClientId], null);
      } finally {
        release(doc);
      }
    });

    // Greeting: the server's state vector (an empty one while withheld), and who else is here.
    doc.deliver(() => {
      send(ws, encodeSync(SYNC_STEP_1, conn.sees ? Y.encodeStateVector(doc.ydoc) : EMPTY_STATE_VECTOR));
      const states = [...doc.awareness.getStates().keys()];
      if (conn.sees && states.length > 0) send(ws, encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(doc.awareness, states)));
    });
    for (const data of early) onMessage(data);
  }

  return {
    openDocs: () => [...docs.keys()],
    connectionCount: () => wss.clients.size,
    doc: (name) => {
      const doc = docs.get(name);
      return doc && doc.uncommitted === 0 ? doc.ydoc : undefined;
    },
    storing: (name) => (docs.get(name)?.uncommitted ?? 0) > 0,
    reload(names) {
      reloadHere(names);
      // A stale copy on another node must not be sent, or compacted back into the store.
      if (names.length > 0) deps.fanOut?.publishReload(names);
    },
    async close() {
      closing = true;
      stopHeartbeat();
      stopRevalidation();
      for (const doc of docs.values()) for (const c of doc.connections) c.ws.terminate();
      // Store what was accepted before compacting.
      commit();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      for (const doc of docs.values()) {
        try {
          if (doc.updatesSinceCompaction > 0 && doc.uncommitted === 0) compact(doc);
        } catch (err) {
          warn({ docName: doc.name, err: (err as Error).message }, 'collab compaction failed');
        }
      }
      docs.clear();
      wss.close();
    },
  };
}

interface HandlerDeps {
  policy: CollabPolicy;
  accept: (doc: SharedDoc, update: Uint8Array, origin: Connection) => void;
  warn: (context: Record<string, unknown>, message: string) => void;
}

/** Handles one message; returns a reason to close the connection, or nothing. */
function handleMessage(doc: SharedDoc, conn: Connection, data: Uint8Array, deps: HandlerDeps): Refusal | undefined {
  if (data.length === 0) return { code: CLOSE_CODES.BadRequest, reason: 'empty message' };
  const maxBytes = deps.policy.maxMessageBytes?.(doc.target) ?? COLLAB_LIMITS.maxMessageBytes;
  if (data.length > maxBytes) return { code: CLOSE_CODES.MessageTooBig, reason: 'message too big' };
  let decoder: decoding.Decoder;
  let type: number;
  try {
    decoder = decoding.createDecoder(data);
    type = decoding.readVarUint(decoder);
  } catch {
    return { code: CLOSE_CODES.BadRequest, reason: 'malformed message' };
  }
  switch (type) {
    case MESSAGE_SYNC:
      return handleSync(doc, conn, decoder, deps);
    case MESSAGE_AWARENESS: {
      if (deps.policy.awareness?.(doc.target) === false || !conn.sees) return undefined;
      let entries: AwarenessEntry[];
      try {
        entries = awarenessEntries(decoding.readVarUint8Array(decoder));
      } catch {
        return { code: CLOSE_CODES.BadRequest, reason: 'malformed awareness message' };
      }
      // A connection speaks for the first client ID it uses, unless another connection to this
      // document speaks for it already: otherwise a reader could replace another participant's
      // presence, and remove it on leaving (found by the fuzzer, seed 1).
      const claim = entries[0]?.clientId;
      if (conn.awarenessClientId === null && claim !== undefined && ![...doc.connections].some((c) => c !== conn && c.awarenessClientId === claim)) {
        conn.awarenessClientId = claim;
      }
      // Entries for other client IDs are dropped, not applied (stock providers re-send the
      // removal of peers that timed out, so closing the connection would cut them off).
      const own = entries.filter((e) => e.clientId === conn.awarenessClientId && e.state.length <= COLLAB_LIMITS.maxAwarenessStateBytes);
      if (own.length > 0) awarenessProtocol.applyAwarenessUpdate(doc.awareness, encodeAwarenessEntries(own), conn);
      return undefined;
    }
    case MESSAGE_QUERY_AWARENESS:
      if (conn.sees) send(conn.ws, encodeAwareness(awarenessProtocol.encodeAwarenessUpdate(doc.awareness, [...doc.awareness.getStates().keys()])));
      return undefined;
    case MESSAGE_AUTH:
      return undefined;
    default:
      return { code: CLOSE_CODES.BadRequest, reason: `unknown message type ${type}` };
  }
}

function handleSync(doc: SharedDoc, conn: Connection, decoder: decoding.Decoder, deps: HandlerDeps): Refusal | undefined {
  let step: number;
  let payload: Uint8Array;
  try {
    step = decoding.readVarUint(decoder);
    payload = decoding.readVarUint8Array(decoder);
  } catch {
    return { code: CLOSE_CODES.BadRequest, reason: 'malformed sync message' };
  }
  const { policy } = deps;
  conn.access = policy.access(conn.participant, doc.target, doc.ydoc, conn);
  if (conn.access === 'none') return { code: CLOSE_CODES.Forbidden, reason: 'this document is no longer open to you' };
  if (step === SYNC_STEP_1) {
    try {
      Y.decodeStateVector(payload);
    } catch {
      return { code: CLOSE_CODES.BadRequest, reason: 'malformed state vector' };
    }
    // What the document holds is sent once it is stored.
    doc.deliver(() => send(conn.ws, encodeSync(SYNC_STEP_2, conn.sees ? Y.encodeStateAsUpdate(doc.ydoc, payload) : EMPTY_UPDATE)));
    return undefined;
  }
  if (step !== SYNC_STEP_2 && step !== SYNC_UPDATE) return { code: CLOSE_CODES.BadRequest, reason: `unknown sync step ${step}` };
  // Parse fully before anything touches the document: malformed bytes end here.
  let update: IncomingUpdate;
  try {
    update = { bytes: payload, decoded: Y.decodeUpdate(payload) };
  } catch {
    return { code: CLOSE_CODES.BadRequest, reason: 'malformed update' };
  }
  if (conn.access !== 'write') {
    if (step === SYNC_STEP_2) {
      // A reader's provider answers our greeting with whatever it has: nothing new is fine.
      if (!conn.sees || !addsContent(doc.ydoc, update.decoded)) return undefined;
      // Someone who never writes this document holds only what we sent: content we lack was
      // sent before it was stored and then lost (a failed commit, a crash). It is not applied;
      // its author's client still holds it and sends it again.
      if (policy.isAuthor && !policy.isAuthor(conn.participant, doc.target)) return undefined;
    }
    return { code: CLOSE_CODES.Forbidden, reason: policy.readOnlyReason?.(conn.participant, doc.target, doc.ydoc) ?? 'read-only: changes are not accepted' };
  }
  const refused = policy.checkUpdate?.(conn.participant, doc.target, doc.ydoc, update, {
    connection: conn,
    step: step === SYNC_STEP_2 ? 'sync-step-2' : 'update',
    uncommittedBytes: doc.uncommittedBytes,
  });
  if (refused) return refused;
  // A provider's reconnect sync often carries nothing new: nothing to store or send.
  if (!addsContent(doc.ydoc, update.decoded)) return undefined;
  deps.accept(doc, payload, conn);
  if (hasWithheld(doc)) doc.deliver(() => revealToNewReaders(doc, policy));
  return undefined;
}

function hasWithheld(doc: SharedDoc): boolean {
  for (const c of doc.connections) if (!c.sees) return true;
  return false;
}

/** After a change (e.g. a sheet submitted), withheld connections that may now read get it all. */
function revealToNewReaders(doc: SharedDoc, policy: CollabPolicy): void {
  for (const c of doc.connections) {
    if (c.sees) continue;
    c.access = policy.access(c.participant, doc.target, doc.ydoc, c);
    if (c.sees) send(c.ws, encodeSync(SYNC_STEP_2, Y.encodeStateAsUpdate(doc.ydoc)));
  }
}

/**
 * Whether applying `update` would change `doc`: a new struct (a client clock beyond the
 * document's) or a deletion of something not yet deleted. Costs what the update holds, not
 * what the document holds.
 */
export function addsContent(doc: Y.Doc, { structs, ds }: DecodedUpdate): boolean {
  for (const s of structs) {
    if (s instanceof Y.Skip) continue;
    if (s.id.clock + s.length > Y.getState(doc.store, s.id.client)) return true;
  }
  for (const [client, ranges] of ds.clients) {
    for (const r of ranges) {
      for (let clock = r.clock; clock < r.clock + r.len; ) {
        if (clock >= Y.getState(doc.store, client)) return true;
        const item = Y.getItem(doc.store, Y.createID(client, clock));
        if (!item.deleted) return true;
        clock = item.id.clock + item.length;
      }
    }
  }
  return false;
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
  if (count > 64) throw new Error('too many awareness entries');
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ clientId: decoding.readVarUint(decoder), clock: decoding.readVarUint(decoder), state: decoding.readVarString(decoder) });
  }
  for (const e of entries) JSON.parse(e.state); // applyAwarenessUpdate would throw on bad JSON
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

/**
 * A warning logger that writes at most `perWindow` lines a minute and then one summary: a
 * client flooding bad messages must not flood the log (or the disk) as well.
 */
function rateLimitedWarn(log: Logger, perWindow = 100, windowMs = 60_000): (context: Record<string, unknown>, message: string) => void {
  let windowStart = Date.now();
  let written = 0;
  let suppressed = 0;
  return (context, message) => {
    const now = Date.now();
    if (now - windowStart >= windowMs) {
      if (suppressed > 0) log.warn({ suppressed }, 'collab warnings suppressed in the last minute');
      windowStart = now;
      written = 0;
      suppressed = 0;
    }
    if (written++ < perWindow) log.warn(context, message);
    else suppressed++;
  };
}
