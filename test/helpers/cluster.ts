// What a multi-node test starts (studio nodes on one data directory and database, Redis, a
// balancer, and the clients connected to them), stopped together afterwards: clients first,
// then the balancer, the nodes and Redis.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RawCollabClient } from './collab-client.ts';
import type { TestBalancer } from './haproxy.ts';
import type { TestRedis } from './redis.ts';
import { kill9, type ServerProcess, type ServerSocket } from './server-process.ts';

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
