// Stored collaboration updates between studio nodes, over Redis pub/sub: a node publishes each
// update once it is stored (server/collab/collab-server.ts), and every other node applies it
// to its live copy of that document, if it holds one, and sends it on to its clients. Pub/sub
// delivers nothing to a node that was away; the database holds everything, so after a lost
// link a node reads its live documents again (`resync`).
//
// A message (lib0 encoding): its kind, the publishing node's id, then for an update the
// document's name and the update, for a reload the names of documents rewritten in the store
// (erasure), whose live copies every node drops.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { CollabFanOut } from '../collab/collab-server.ts';
import type { Logger } from '../log.ts';
import { LogBudget } from '../log-budget.ts';

const CHANNEL = 'simstudio:collab-updates';
const KIND_UPDATE = 0;
const KIND_RELOAD = 1;

export interface RedisCollabFanOut extends CollabFanOut {
  close(): Promise<void>;
}

/** `publisher` is shared; `subscriber` is this fan-out's own connection (it enters subscriber mode). */
export function redisCollabFanOut(publisher: Redis, subscriber: Redis, log: Logger): RedisCollabFanOut {
  const nodeId = randomUUID();
  const warnings = new LogBudget(log.child({ module: 'collab-fan-out' }), 10);
  let listening = false;
  const send = (encoder: encoding.Encoder, what: string): void => {
    // Stored already: a lost message costs the other nodes' clients liveness until `resync`, not data.
    publisher.publish(CHANNEL, Buffer.from(encoding.toUint8Array(encoder))).catch((err: unknown) => {
      warnings.warn({ what, err: (err as Error).message }, 'could not tell the other studio nodes');
    });
  };
  const start = (kind: number): encoding.Encoder => {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, kind);
    encoding.writeVarString(encoder, nodeId);
    return encoder;
  };
  return {
    publish(doc, update) {
      const encoder = start(KIND_UPDATE);
      encoding.writeVarString(encoder, doc);
      encoding.writeVarUint8Array(encoder, update);
      send(encoder, `an update of ${doc}`);
    },
    publishReload(docs) {
      const encoder = start(KIND_RELOAD);
      encoding.writeVarUint(encoder, docs.length);
      for (const doc of docs) encoding.writeVarString(encoder, doc);
      send(encoder, `${docs.length} rewritten documents`);
    },
    listen(handlers) {
      if (listening) throw new Error('the collaboration fan-out listens once');
      listening = true;
      subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        if (channel.toString() !== CHANNEL) return;
        let heard: { from: string; update: { doc: string; update: Uint8Array } } | { from: string; reload: string[] };
        try {
          const decoder = decoding.createDecoder(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
          const kind = decoding.readVarUint(decoder);
          const from = decoding.readVarString(decoder);
          if (kind === KIND_UPDATE) heard = { from, update: { doc: decoding.readVarString(decoder), update: decoding.readVarUint8Array(decoder) } };
          else if (kind === KIND_RELOAD) heard = { from, reload: Array.from({ length: decoding.readVarUint(decoder) }, () => decoding.readVarString(decoder)) };
          else throw new Error(`unknown kind ${kind}`);
        } catch {
          warnings.warn({ bytes: message.byteLength }, 'a malformed message on the collaboration channel; ignored');
          return;
        }
        if (heard.from === nodeId) return;
        if ('update' in heard) handlers.update(heard.update.doc, heard.update.update);
        else handlers.reload(heard.reload);
      });
      // What was sent while the link was down is lost: once subscribed again (ioredis would
      // resubscribe by itself; asking makes the order certain), the live copies read the store.
      let subscribedOnce = false;
      const subscribe = (): void => {
        subscriber.subscribe(CHANNEL).then(
          () => {
            if (subscribedOnce) handlers.resync();
            subscribedOnce = true;
          },
          (err: unknown) => warnings.warn({ err: (err as Error).message }, 'could not subscribe to the collaboration channel'),
        );
      };
      subscriber.on('ready', () => {
        if (subscribedOnce) subscribe();
      });
      subscribe();
    },
    async close() {
      warnings.flush();
      await subscriber.quit().catch(() => undefined);
    },
  };
}
