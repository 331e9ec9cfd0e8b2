// A raw y-websocket protocol client for tests: a real Y.Doc kept in sync with the server
// over a plain WebSocket, plus ways to send anything at all.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { MESSAGE_AWARENESS, MESSAGE_SYNC, SYNC_STEP_1, SYNC_STEP_2, SYNC_UPDATE, WRITTEN_FRAGMENT } from '../../shared/collab.ts';

export interface Closed {
  code: number;
  reason: string;
}

export class RawCollabClient {
  readonly ws: WebSocket;
  readonly ydoc: Y.Doc;
  /** Only what the server has sent: an edit is acknowledged once it shows up here. */
  readonly serverView: Y.Doc;
  readonly awareness: awarenessProtocol.Awareness;
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;
  /** Resolves once the server's SyncStep2 arrived (initial content loaded). */
  readonly synced: Promise<void>;

  /** Pass the `ydoc` and `serverView` of an earlier connection to reconnect with them (like a
   *  provider after a dropped connection: unacknowledged edits go out in SyncStep2). */
  constructor(url: string, headers: Record<string, string> = {}, reuse?: { ydoc: Y.Doc; serverView: Y.Doc }) {
    this.ydoc = reuse?.ydoc ?? new Y.Doc();
    this.serverView = reuse?.serverView ?? new Y.Doc();
    this.awareness = new awarenessProtocol.Awareness(this.ydoc);
    this.ws = new WebSocket(url, { headers });
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    let markSynced: () => void = () => undefined;
    this.synced = new Promise((resolve) => (markSynced = resolve));
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: Buffer) => {
      const decoder = decoding.createDecoder(new Uint8Array(data));
      const type = decoding.readVarUint(decoder);
      if (type === MESSAGE_SYNC) {
        const step = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (step === SYNC_STEP_1) {
          this.send(sync(SYNC_STEP_2, Y.encodeStateAsUpdate(this.ydoc, payload)));
        } else {
          Y.applyUpdate(this.ydoc, payload, 'server');
          Y.applyUpdate(this.serverView, payload, 'server');
          if (step === SYNC_STEP_2) markSynced();
        }
      } else if (type === MESSAGE_AWARENESS) {
        awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), 'server');
      }
    });
    // Local edits go to the server as updates; the initial SyncStep1 asks for its content.
    this.onLocalUpdate = (update: Uint8Array, origin: unknown): void => {
      if (origin !== 'server') this.send(sync(SYNC_UPDATE, update));
    };
    this.ydoc.on('update', this.onLocalUpdate);
    this.ws.once('close', () => {
      this.ydoc.off('update', this.onLocalUpdate);
      this.awareness.destroy();
      for (const a of this.spoken.values()) a.destroy();
    });
    // Asks for what the server's view here lacks, not what `ydoc` lacks: after a reconnection
    // the server may hold an edit whose echo never arrived (it was stored just before a crash).
    // Asked by `ydoc`'s state, it would not be sent again, and every later echo of that author
    // would wait behind it in `serverView`, never counted as acknowledged.
    void this.opened.then(() => this.send(sync(SYNC_STEP_1, Y.encodeStateVector(this.serverView))), () => undefined);
  }

  private readonly onLocalUpdate: (update: Uint8Array, origin: unknown) => void;

  send(message: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(message);
  }

  /** One Awareness per client ID spoken for, so that each new state gets a higher clock. */
  private readonly spoken = new Map<number, awarenessProtocol.Awareness>();

  sendAwareness(clientId: number, state: Record<string, unknown>): void {
    let other = this.spoken.get(clientId);
    if (!other) {
      const doc = new Y.Doc();
      doc.clientID = clientId;
      other = new awarenessProtocol.Awareness(doc);
      this.spoken.set(clientId, other);
    }
    other.setLocalState(state);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(other, [clientId]));
    this.send(encoding.toUint8Array(encoder));
  }

  close(): void {
    this.ws.close();
  }
}

export function sync(step: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

/** An update that sets `key` in a map named `name`, made on a throwaway doc. */
export function mapUpdate(name: string, key: string, value: unknown): Uint8Array {
  const doc = new Y.Doc();
  doc.getMap(name).set(key, value);
  return Y.encodeStateAsUpdate(doc);
}

export function collabUrl(baseUrl: string, docName: string, participantId: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/collab/${docName}?participantId=${participantId}`;
}

/** Types a paragraph at the end of a written-exercise document, as the editor would. */
export function typeParagraph(doc: Y.Doc, text: string): void {
  const paragraph = new Y.XmlElement('paragraph');
  paragraph.insert(0, [new Y.XmlText(text)]);
  const fragment = doc.getXmlFragment(WRITTEN_FRAGMENT);
  fragment.insert(fragment.length, [paragraph]);
}
