// The composition root: database, auth, media, HTTP and signalling wired together.
// `startStudio` is what `npm start` runs and what the tests start on a free port.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HealthResponse } from '../shared/api.ts';
import { defaultStage } from '../shared/roles.ts';
import { RoomRegistry } from '../media/rooms.ts';
import { WorkerPool } from '../media/worker-pool.ts';
import { ParticipantAuth } from './auth/participant-auth.ts';
import { loadOrCreateSecret } from './auth/secret.ts';
import { TokenService } from './auth/tokens.ts';
import type { Config } from './config.ts';
import { AuditRepo } from './db/audit-repo.ts';
import { databaseHealthy, openDatabase, type Database } from './db/database.ts';
import { SessionsRepo } from './db/sessions-repo.ts';
import { createHttpApp } from './http/app.ts';
import { Invites } from './invites.ts';
import { createLogger, type Logger } from './log.ts';
import { attachSignalling } from './signalling/socket-server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

export interface Studio {
  config: Config;
  baseUrl: string;
  db: Database;
  sessions: SessionsRepo;
  audit: AuditRepo;
  tokens: TokenService;
  invites: Invites;
  pool: WorkerPool;
  rooms: RoomRegistry;
  log: Logger;
  close(): Promise<void>;
}

/** Opens the data directory's database and signing secret (no network, no media). */
export function openData(config: Config): { db: Database; sessions: SessionsRepo; audit: AuditRepo; tokens: TokenService; invites: Invites } {
  const db = openDatabase(config.dataDir);
  const tokens = new TokenService(loadOrCreateSecret(config.dataDir, config.secret));
  return { db, sessions: new SessionsRepo(db), audit: new AuditRepo(db), tokens, invites: new Invites(tokens, config.inviteTtlSeconds) };
}

export function baseUrlFor(config: Config, port: number): string {
  return config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
}

export async function startStudio(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Studio> {
  const { db, sessions, audit, tokens, invites } = openData(config);
  const pool = new WorkerPool(config.media, log);
  await pool.start();
  const rooms = new RoomRegistry(pool, config.media, log, (sessionId) => defaultStage(sessions.listParticipants(sessionId)));
  const auth = new ParticipantAuth(tokens, sessions);

  const health = (): HealthResponse => {
    const pids = pool.pids;
    const dbOk = databaseHealthy(db);
    return {
      status: dbOk && pids.length === config.media.workers ? 'ok' : 'degraded',
      version: VERSION,
      mediasoup: { workers: pids.length, pids },
      db: dbOk ? 'ok' : 'error',
    };
  };

  const app = createHttpApp({
    version: VERSION,
    clientDir: path.join(ROOT, 'dist', 'client'),
    auth,
    tokens,
    sessions,
    audit,
    sessionTtlSeconds: config.inviteTtlSeconds,
    cookieSecure: config.cookieSecure,
    health,
    log,
  });
  const server = http.createServer(app);
  const io = attachSignalling(server, { auth, rooms, audit, iceServers: config.iceServers, log });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = baseUrlFor(config, port);
  log.info({ baseUrl, workers: pool.pids }, 'SimStudio listening');

  return {
    config,
    baseUrl,
    db,
    sessions,
    audit,
    tokens,
    invites,
    pool,
    rooms,
    log,
    async close() {
      rooms.closeAll();
      await io.close();
      server.closeAllConnections();
      pool.close();
      db.close();
    },
  };
}
