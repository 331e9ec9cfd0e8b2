// What a multi-node test starts (studio nodes on one data directory and database, Redis, a
// balancer, and the clients connected to them), stopped together afterwards: clients first,
// then the balancer, the nodes and Redis.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import type { DayState } from '../../shared/assessment.ts';
import { SESSION_ROUTING_PARAM, type PresenceInfo, type RecordingStatus } from '../../shared/protocol.ts';
import type { RawCollabClient } from './collab-client.ts';
import type { TestBalancer } from './haproxy.ts';
import type { TestRedis } from './redis.ts';
import { cookieFor, kill9, type ServerInvite, type ServerProcess, type ServerSocket } from './server-process.ts';

/** A room page's socket through the balancer, and what it was told. */
export interface BalancedPerson {
  socket: ServerSocket;
  days: DayState[];
  presence: PresenceInfo[];
  recording: RecordingStatus[];
}

export class TestCluster {
  readonly dataDir: string;
  readonly servers: ServerProcess[] = [];
  readonly sockets: ServerSocket[] = [];
  readonly collabClients: RawCollabClient[] = [];
  redis: TestRedis | undefined;
  balancer: TestBalancer | undefined;
  private readonly cleanups: Array<() => void> = [];

  constructor(name: string) {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `simstudio-${name}-`));
  }

  /** An invite link as the balancer serves it (the link names the node it was made on). */
  viaBalancer(invite: ServerInvite): string {
    const link = new URL(invite.link);
    return new URL(link.pathname + link.search, this.balancer!.baseUrl).toString();
  }

  /** A room page's socket through the balancer: routed by its session, reconnecting as a page does. */
  async throughBalancer(invite: ServerInvite, sessionId: string): Promise<BalancedPerson> {
    const cookie = await cookieFor(this.viaBalancer(invite), invite.participantId);
    const socket: ServerSocket = io(this.balancer!.baseUrl, {
      auth: { participantId: invite.participantId },
      query: { [SESSION_ROUTING_PARAM]: sessionId },
      extraHeaders: { cookie },
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      forceNew: true,
    });
    this.sockets.push(socket);
    const person: BalancedPerson = { socket, days: [], presence: [], recording: [] };
    socket.on('dayState', (s) => person.days.push(s));
    socket.on('presence', (p) => person.presence.push(p));
    socket.on('recording', (r) => person.recording.push(r));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    return person;
  }

  /** Runs once the nodes are stopped (e.g. closing the test's own database connection). */
  onClose(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.disconnect();
    for (const client of this.collabClients) client.close();
    await this.balancer?.stop();
    for (const server of this.servers) await kill9(server);
    await this.redis?.stop();
    for (const cleanup of this.cleanups) cleanup();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
