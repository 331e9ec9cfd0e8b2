// Stored collaboration updates between studio nodes, over Redis pub/sub: a node publishes each
// update once it is stored (server/collab/collab-server.ts), and every other node applies it
// to its live copy of that document, if it holds one, and sends it on to its clients. Pub/sub
// delivers nothing to a node that was away; the database holds everything, so after a lost
// link a node reads its live documents again (`resync`).
//
// A message: the publishing node's id, the document's name and the update (lib0 encoding).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { CollabFanOut } from '../collab/collab-server.ts';
import type { Logger } from '../log.ts';
import { LogBudget } from '../log-budget.ts';

const CHANNEL = 'simstudio:collab-updates';

export interface RedisCollabFanOut extends CollabFanOut {
  close(): Promise<void>;
}

/** `publisher` is shared; `subscriber` is this fan-out's own connection (it enters subscriber mode). */
export function redisCollabFanOut(publisher: Redis, subscriber: Redis, log: Logger): RedisCollabFanOut {
  const nodeId = randomUUID();
  const warnings = new LogBudget(log.child({ module: 'collab-fan-out' }), 10);
  let listening = false;
  return {
    publish(doc, update) {
      const encoder = encoding.createEncoder();
      encoding.writeVarString(encoder, nodeId);
      encoding.writeVarString(encoder, doc);
      encoding.writeVarUint8Array(encoder, update);
      // Stored already: a lost message costs the other nodes' clients liveness until `resync`, not data.
      publisher.publish(CHANNEL, Buffer.from(encoding.toUint8Array(encoder))).catch((err: unknown) => {
        warnings.warn({ doc, err: (err as Error).message }, 'could not send a stored update to the other studio nodes');
      });
    },
    listen(handlers) {
      if (listening) throw new Error('the collaboration fan-out listens once');
      listening = true;
      subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        if (channel.toString() !== CHANNEL) return;
        let from: string;
        let doc: string;
        let update: Uint8Array;
        try {
          const decoder = decoding.createDecoder(new Uint8Array(message.buffer, message.byteOffset, message.byteLength));
          from = decoding.readVarString(decoder);
          doc = decoding.readVarString(decoder);
          update = decoding.readVarUint8Array(decoder);
        } catch {
          warnings.warn({ bytes: message.byteLength }, 'a malformed message on the collaboration channel; ignored');
          return;
        }
        if (from !== nodeId) handlers.update(doc, update);
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
