// Session leases between studio nodes (server/cluster/session-leases.ts), on the engine of the
// project (SQLite, or PostgreSQL): one holder at a time, a takeover only after expiry with a
// higher fencing token, a stalled holder that stores nothing once it lost the lease, a lease let
// go when its session is no longer wanted (or the node stops), a node cut off from the database
// told that its lease was taken once it reaches the database again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SessionLeases, type LeaseOptions } from '../../server/cluster/session-leases.ts';
import { openStudioDatabase, type Database } from '../../server/db/database.ts';
import { createLogger } from '../../server/log.ts';
import { connectToStudioDatabase, testDatabaseUrl } from '../helpers/postgres.ts';

const log = createLogger('silent');
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** Two nodes' connections to one studio database, a session in it, and a clock the test moves. */
function twoNodes(): { a: Database; b: Database; clock: { now: number }; options: LeaseOptions } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-leases-'));
  const a = openStudioDatabase({ dataDir, databaseUrl: testDatabaseUrl(dataDir) });
  const b = connectToStudioDatabase(dataDir);
  a.prepare("INSERT INTO sessions (id, title, level, created_at) VALUES ('s1', 'Day', 'practitioner', 'now'), ('s2', 'Day two', 'practitioner', 'now')").run();
  cleanups.push(() => {
    a.close();
    b.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const clock = { now: 1_000_000 };
  return { a, b, clock, options: { ttlMs: 5_000, renewEveryMs: 1_000, keepMs: 10_000, now: () => clock.now } };
}

function leases(db: Database, node: string, wanted: Set<string>, options: LeaseOptions): { leases: SessionLeases; events: string[] } {
  const events: string[] = [];
  const l = new SessionLeases({ db, node, wanted: () => wanted, log }, options);
  l.on('acquired', (id, token) => events.push(`acquired ${id} ${token}`));
  l.on('lost', (id, why) => events.push(`lost ${id} ${why}`));
  return { leases: l, events };
}

function segmentRows(db: Database): number {
  return Number((db.prepare("SELECT COUNT(*) AS n FROM recordings WHERE session_id = 's1'").get() as { n: number | bigint }).n);
}

function storeSegment(db: Database, id: string, node: string): () => void {
  return () => {
    db.prepare(
      `INSERT INTO recordings (id, session_id, phase_index, scenario_key, participant_id, segment, phase_started_at, file, status, started_at, node)
       VALUES (?, 's1', 1, '1', 'p1', 1, 0, ?, 'recording', 0, ?)`,
    ).run(id, `s1/${id}.webm`, node);
  };
}

it('has one holder at a time; another node takes over only after expiry, with a higher token, and the old holder can store nothing', () => {
  const { a, b, clock, options } = twoNodes();
  const nodeA = leases(a, 'node-a', new Set(['s1']), options);
  const nodeB = leases(b, 'node-b', new Set(['s1']), options);

  nodeA.leases.sweep();
  nodeB.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1']);
  expect(nodeB.events).toEqual([]);
  expect(nodeA.leases.holds('s1')).toBe(true);
  expect(nodeB.leases.holds('s1')).toBe(false);

  // A keeps renewing: B never gets it, however long.
  for (let i = 0; i < 20; i++) {
    clock.now += 1_000;
    nodeA.leases.sweep();
    nodeB.leases.sweep();
  }
  expect(nodeB.events).toEqual([]);
  expect(nodeA.leases.fenced('s1', storeSegment(a, 'seg-a1', 'node-a'))).toBe(true);

  // A stalls (no renewal): it stops counting on the lease before it runs out in the database,
  // and B takes it once it has run out, not before.
  clock.now += 4_100;
  expect(nodeA.leases.holds('s1')).toBe(false);
  nodeB.leases.sweep();
  expect(nodeB.events).toEqual([]);
  clock.now += 1_000;
  nodeB.leases.sweep();
  expect(nodeB.events).toEqual(['acquired s1 2']);
  expect(nodeB.leases.token('s1')).toBe(2);

  // A wakes up: whatever it tries to store as the holder is refused, and it learns it lost.
  expect(nodeA.leases.fenced('s1', storeSegment(a, 'seg-a2', 'node-a'))).toBe(false);
  nodeA.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1', 'lost s1 taken']);
  expect(nodeB.leases.fenced('s1', storeSegment(b, 'seg-b1', 'node-b'))).toBe(true);
  expect(segmentRows(a)).toBe(2);
  const stored = a.prepare("SELECT id, node FROM recordings WHERE session_id = 's1' ORDER BY id").all();
  expect(stored).toEqual([
    { id: 'seg-a1', node: 'node-a' },
    { id: 'seg-b1', node: 'node-b' },
  ]);
  // And A, still wanting it, does not take it back from a live holder.
  clock.now += 1_000;
  nodeB.leases.sweep();
  nodeA.leases.sweep();
  expect(nodeA.leases.holds('s1')).toBe(false);
  expect(nodeB.leases.holds('s1')).toBe(true);
});

it('is refused to a node whose fencing token is stale even inside its own validity (the database decides)', () => {
  const { a, b, clock, options } = twoNodes();
  const nodeA = leases(a, 'node-a', new Set(['s1']), options);
  nodeA.leases.sweep();
  // Someone takes the lease in the database behind A's back (as a node with a fast clock would).
  b.prepare("UPDATE session_leases SET node = 'node-b', token = token + 1 WHERE session_id = 's1'").run();
  expect(nodeA.leases.holds('s1')).toBe(true);
  expect(nodeA.leases.fenced('s1', storeSegment(a, 'seg-a1', 'node-a'))).toBe(false);
  expect(segmentRows(a)).toBe(0);
  clock.now += 1_000;
  nodeA.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1', 'lost s1 taken']);
});

it('lets a lease go once its session has not been wanted for a while, or when the node stops: another node takes it at once', () => {
  const { a, b, clock, options } = twoNodes();
  const wantedByA = new Set(['s1']);
  const nodeA = leases(a, 'node-a', wantedByA, options);
  const nodeB = leases(b, 'node-b', new Set(['s1']), options);
  nodeA.leases.sweep();
  wantedByA.clear();
  // People reconnecting within the keep time do not lose the node its session.
  for (let i = 0; i < 9; i++) {
    clock.now += 1_000;
    nodeA.leases.sweep();
  }
  expect(nodeA.leases.holds('s1')).toBe(true);
  clock.now += 2_000;
  nodeA.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1', 'lost s1 released']);
  nodeB.leases.sweep();
  expect(nodeB.events).toEqual(['acquired s1 2']);

  nodeB.leases.close();
  expect(nodeB.events).toEqual(['acquired s1 2', 'lost s1 released']);
  wantedByA.add('s1');
  nodeA.leases.sweep();
  expect(nodeA.events.at(-1)).toBe('acquired s1 3');
});

it('renews every lease a node holds together, and loses only the one taken from it', () => {
  const { a, b, clock, options } = twoNodes();
  const nodeA = leases(a, 'node-a', new Set(['s1', 's2']), options);
  nodeA.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1', 'acquired s2 1']);
  b.prepare("UPDATE session_leases SET node = 'node-b', token = token + 1 WHERE session_id = 's2'").run();
  clock.now += 1_000;
  nodeA.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1', 'acquired s2 1', 'lost s2 taken']);
  expect(nodeA.leases.holds('s1')).toBe(true);
  const expiry = (id: string) => Number((a.prepare('SELECT expires_at FROM session_leases WHERE session_id = ?').get(id) as { expires_at: number | bigint }).expires_at);
  expect(expiry('s1')).toBe(clock.now + 5_000);
  // Held past its first lifetime only by being renewed.
  clock.now += 4_500;
  nodeA.leases.sweep();
  expect(nodeA.leases.holds('s1')).toBe(true);
  expect(expiry('s1')).toBe(clock.now + 5_000);
});

it('a node cut off from the database past its lease learns, once it reaches it again, that another node took the session meanwhile', () => {
  const { a, b, clock, options } = twoNodes();
  // Node A's connection, which the test can cut: every statement then fails as an unreachable server's would.
  const link = { cut: false };
  const cuttable = new Proxy(a, {
    get(target, key, receiver) {
      if (key === 'prepare') {
        return (sql: string) => {
          if (link.cut) throw new Error('connection refused');
          return target.prepare(sql);
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const nodeA = leases(cuttable, 'node-a', new Set(['s1', 's2']), options);
  const nodeB = leases(b, 'node-b', new Set(['s1']), options);
  nodeA.leases.sweep();
  expect(nodeA.events).toEqual(['acquired s1 1', 'acquired s2 1']);

  // Cut off past the lease: A stops counting on both; the database does not hear of it.
  link.cut = true;
  for (let i = 0; i < 6; i++) {
    clock.now += 1_000;
    nodeA.leases.sweep();
  }
  expect(nodeA.events.slice(2)).toEqual(['lost s1 unreachable', 'lost s2 unreachable']);
  // B (whose people reconnected through the balancer) takes s1 over; nobody wants s2 elsewhere.
  nodeB.leases.sweep();
  expect(nodeB.events).toEqual(['acquired s1 2']);

  // A reaches the database again: s1 was taken (said once, so that its people here follow the
  // balancer to B); s2 was not, and A takes it again.
  link.cut = false;
  clock.now += 1_000;
  nodeA.leases.sweep();
  expect(nodeA.events.slice(4)).toEqual(['lost s1 taken', 'acquired s2 2']);
  clock.now += 1_000;
  nodeB.leases.sweep();
  nodeA.leases.sweep();
  expect(nodeA.events.slice(6)).toEqual([]);
  expect(nodeB.leases.holds('s1')).toBe(true);
});
