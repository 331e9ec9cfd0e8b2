// Redis, when REDIS_URL is set: what must cross studio nodes goes through it. Socket.IO's
// Redis adapter carries a message to a session's channel to its people on every node, and a
// question about who is in a channel (presence, the coordinator's board, the lead observer's
// signals) to every node; the collaboration fan-out carries each stored update of a shared
// document to the other nodes' live copies (collab-fan-out.ts). Without REDIS_URL a studio is
// one process and needs none of it.
//
// ioredis, not node-redis: Socket.IO's documentation warns that node-redis may not restore its
// subscriptions after a reconnection; ioredis resubscribes, and retries for as long as Redis is
// away (each node keeps serving its own people meanwhile).
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { redisCollabFanOut, type RedisCollabFanOut } from './collab-fan-out.ts';
import type { Logger } from '../log.ts';
import { LogBudget } from '../log-budget.ts';

/** The adapter's key prefix: several studios may share one Redis. */
const ADAPTER_KEY = 'simstudio';
/** How long a question to the other nodes waits for their answers. */
const REQUESTS_TIMEOUT_MS = 3_000;
/** How long the start waits for Redis before refusing to run. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface RedisLink {
  /** For `io.adapter(...)`. */
  adapter: ReturnType<typeof createAdapter>;
  /** For the collaboration server (`fanOut`). */
  collabFanOut: RedisCollabFanOut;
  close(): Promise<void>;
}

/** The URL without its password, for logs and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/** Connects (refusing to start when Redis cannot be reached) and keeps reconnecting after. */
export async function connectRedis(url: string, log: Logger): Promise<RedisLink> {
  const redisLog = log.child({ module: 'redis', url: redactRedisUrl(url) });
  const errors = new LogBudget(redisLog, 10);
  const open = (role: 'publish' | 'subscribe' | 'collab'): Redis => {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, connectionName: `simstudio-${role}` });
    // Without a listener an 'error' event would end the process; the client retries by itself.
    client.on('error', (err: Error) => errors.warn({ role, err: err.message }, 'redis connection error'));
    client.on('reconnecting', () => errors.warn({ role }, 'reconnecting to redis'));
    return client;
  };
  const pub = open('publish');
  const sub = open('subscribe');
  const collabSub = open('collab');
  try {
    await Promise.all([pub.connect(), sub.connect(), collabSub.connect()]);
  } catch (error) {
    for (const client of [pub, sub, collabSub]) client.disconnect();
    throw new Error(`could not reach Redis at ${redactRedisUrl(url)} (REDIS_URL): ${(error as Error).message}`);
  }
  redisLog.info('connected to redis: Socket.IO messages and questions, and stored document updates, cross the studio nodes');
  const collabFanOut = redisCollabFanOut(pub, collabSub, redisLog);
  return {
    adapter: createAdapter(pub, sub, { key: ADAPTER_KEY, requestsTimeout: REQUESTS_TIMEOUT_MS, publishOnSpecificResponseChannel: true }),
    collabFanOut,
    async close() {
      errors.flush();
      await collabFanOut.close();
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
