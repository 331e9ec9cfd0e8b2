// The collaboration fan-out between studio nodes over a real redis-server: what one node
// publishes (stored updates, rewritten documents) reaches every other node and never comes
// back to itself; a malformed message on the channel is ignored; after Redis is lost and comes
// back, each node is told to read its live documents again (pub/sub kept nothing meanwhile).
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { redisCollabFanOut, type RedisCollabFanOut } from '../../server/cluster/collab-fan-out.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';

const silent = pino({ level: 'silent' });
let redis: TestRedis | undefined;
const clients: Redis[] = [];
const fanOuts: RedisCollabFanOut[] = [];
afterAll(async () => {
  for (const f of fanOuts) await f.close();
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

async function node(url: string) {
  const open = async () => {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };
  const fanOut = redisCollabFanOut(await open(), await open(), silent);
  fanOuts.push(fanOut);
  const heard = { updates: [] as Array<{ doc: string; update: number[] }>, reloads: [] as string[][], resyncs: 0 };
  fanOut.listen({
    update: (doc, update) => heard.updates.push({ doc, update: [...update] }),
    reload: (docs) => heard.reloads.push([...docs]),
    resync: () => heard.resyncs++,
  });
  return { fanOut, heard };
}

it('carries updates and rewrites to the other nodes only, ignores garbage, and resyncs after Redis comes back', { timeout: 60_000 }, async () => {
  redis = await startRedis();
  const one = await node(redis.url);
  const two = await node(redis.url);
  // Subscribed: a probe published by one reaches two.
  await expect
    .poll(() => {
      one.fanOut.publishReload(['probe']);
      return two.heard.reloads.length;
    }, { timeout: 10_000, interval: 200 })
    .toBeGreaterThan(0);

  one.fanOut.publish('session/s1/rubric', new Uint8Array([1, 2, 3]));
  two.fanOut.publishReload(['session/s1/written/c1']);
  await expect.poll(() => two.heard.updates).toEqual([{ doc: 'session/s1/rubric', update: [1, 2, 3] }]);
  await expect.poll(() => one.heard.reloads).toEqual([['session/s1/written/c1']]);
  // Nobody hears their own messages.
  expect(one.heard.updates).toEqual([]);
  expect(two.heard.reloads.filter((r) => r[0] !== 'probe')).toEqual([]);

  // Garbage on the channel: ignored, and what follows still arrives.
  const outsider = new Redis(redis.url);
  clients.push(outsider);
  await outsider.publish('simstudio:collab-updates', Buffer.from([0xff, 0xff, 0xff]));
  one.fanOut.publish('session/s1/rubric', new Uint8Array([4]));
  await expect.poll(() => two.heard.updates.length).toBe(2);

  // Redis dies and comes back on the same port: both nodes subscribe again and resync.
  const port = redis.port;
  await redis.stop();
  redis = await startRedis(port);
  await expect.poll(() => [one.heard.resyncs, two.heard.resyncs], { timeout: 20_000 }).toEqual([1, 1]);
  one.fanOut.publish('session/s2/rubric', new Uint8Array([5]));
  await expect.poll(() => two.heard.updates.at(-1), { timeout: 10_000 }).toEqual({ doc: 'session/s2/rubric', update: [5] });
});
