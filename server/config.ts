// Every setting comes from the environment, with defaults that run the studio on one
// machine with no external services. See README.md, "Configuration".
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { IceServer } from '../shared/protocol.ts';
import { IceServersSchema } from '../shared/protocol-schemas.ts';
import { parseAllowedOrigins } from './http/origin.ts';
import { parseSender } from './mail/mail-message.ts';
import type { SmtpSettings } from './mail/mailer.ts';
import { checkTimeZone, parseReminderOffsets, type ReminderOffset } from './mail/schedule-settings.ts';

const EnvSchema = z.object({
  SIMSTUDIO_HOST: z.string().default('127.0.0.1'),
  SIMSTUDIO_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  SIMSTUDIO_PUBLIC_URL: z.url().optional(),
  SIMSTUDIO_DATA_DIR: z.string().default(path.resolve('data')),
  DATABASE_URL: z
    .string()
    .trim()
    .refine((v) => v === '' || /^postgres(ql)?:\/\//.test(v), 'DATABASE_URL must be a postgres:// (or postgresql://) URL')
    .optional(),
  REDIS_URL: z
    .string()
    .trim()
    .refine((v) => v === '' || /^rediss?:\/\//.test(v), 'REDIS_URL must be a redis:// (or rediss://) URL')
    .optional(),
  /** This node's name among several (a lease's holder, a recording's writer; a folder name). */
  SIMSTUDIO_NODE_NAME: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'SIMSTUDIO_NODE_NAME must be 1–63 letters, digits, dots, dashes or underscores')
    .optional(),
  /** How the other nodes reach this one (several nodes: they pass it people of a session it holds). */
  SIMSTUDIO_NODE_ADDRESS: z
    .string()
    .trim()
    .regex(/^http:\/\/[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/, 'SIMSTUDIO_NODE_ADDRESS must be http://host:port (how the other studio nodes reach this one)')
    .optional(),
  SIMSTUDIO_SECRET: z.string().min(32, 'SIMSTUDIO_SECRET must be at least 32 characters').optional(),
  SIMSTUDIO_INVITE_TTL_HOURS: z.coerce.number().positive().default(24 * 14),
  /** Invite links last until the day's end plus this many days (candidates read their result). */
  SIMSTUDIO_RESULT_PERIOD_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  SIMSTUDIO_COOKIE_SECURE: z.enum(['true', 'false', 'auto']).default('auto'),
  SIMSTUDIO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SIMSTUDIO_DEMO: z.enum(['true', 'false']).default('true'),
  SIMSTUDIO_MEDIA_WORKERS: z.coerce.number().int().min(1).max(64).default(os.availableParallelism()),
  SIMSTUDIO_MEDIA_LISTEN_IP: z.string().default('127.0.0.1'),
  SIMSTUDIO_MEDIA_ANNOUNCED_ADDRESS: z.string().optional(),
  SIMSTUDIO_MEDIA_MIN_PORT: z.coerce.number().int().min(1024).max(65535).default(40000),
  SIMSTUDIO_MEDIA_MAX_PORT: z.coerce.number().int().min(1024).max(65535).default(49999),
  SIMSTUDIO_MEDIA_UDP: z.enum(['true', 'false']).default('true'),
  SIMSTUDIO_MEDIA_TCP: z.enum(['true', 'false']).default('true'),
  SIMSTUDIO_MEDIA_PREFER_TCP: z.enum(['true', 'false']).default('false'),
  SIMSTUDIO_MEDIA_WEBRTC_SERVER_PORT: z.coerce.number().int().min(1024).max(65535).optional(),
  SIMSTUDIO_ICE_SERVERS: z.string().optional(),
  SIMSTUDIO_RECORDING_MIN_FREE_MB: z.coerce.number().int().min(0).default(500),
  SIMSTUDIO_RECORDING_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
  SIMSTUDIO_RETENTION_WRITTEN_DAYS: z.coerce.number().int().min(1).max(36500).default(2190),
  SIMSTUDIO_RETENTION_RESULTS_DAYS: z.coerce.number().int().min(1).max(36500).default(2190),
  SIMSTUDIO_RETENTION_AUDIT_DAYS: z.coerce.number().int().min(1).max(36500).default(2555),
  SIMSTUDIO_RETENTION_EQUALITIES_DAYS: z.coerce.number().int().min(1).max(36500).default(1095),
  SIMSTUDIO_RETENTION_EMAIL_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  SIMSTUDIO_RECORDING_FALLBACK_RUN_MB: z.coerce.number().int().min(1).default(1024),
  SIMSTUDIO_RECORDING_FALLBACK_SESSION_MB: z.coerce.number().int().min(1).default(4096),
  /** Base64 of 32 bytes: the master key that wraps every recording's own key (else a key file in the data directory). */
  SIMSTUDIO_RECORDING_KEY: z
    .string()
    .refine((v) => v.trim() === '' || Buffer.from(v.trim(), 'base64').length === 32, 'SIMSTUDIO_RECORDING_KEY must be the base64 of 32 bytes (openssl rand -base64 32)')
    .optional(),
  SIMSTUDIO_COLLAB_HEARTBEAT_SECONDS: z.coerce.number().min(0.1).max(600).default(30),
  SIMSTUDIO_WRITTEN_GRACE_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  SIMSTUDIO_WRITTEN_MAX_KB: z.coerce.number().int().min(1).max(10_000).default(200),
  SIMSTUDIO_ALLOWED_ORIGINS: z.string().optional(),
  SIMSTUDIO_HELP_CONTACT: z.string().trim().max(300).optional(),
  SIMSTUDIO_REQUIRE_CALIBRATION: z.enum(['true', 'false']).default('false'),
  /** Staff sign-in sessions end after this long unused, and this long after sign-in at most. */
  SIMSTUDIO_STAFF_IDLE_HOURS: z.coerce.number().positive().max(24 * 30).default(12),
  SIMSTUDIO_STAFF_ABSOLUTE_HOURS: z.coerce.number().positive().max(24 * 90).default(24 * 7),
  SIMSTUDIO_SMTP_URL: z.string().trim().optional(),
  SIMSTUDIO_MAIL_FROM: z.string().trim().optional(),
  /** Reminders before a session starts, e.g. "7d,1d,1h" (d, h, m); "" for none. */
  SIMSTUDIO_REMINDERS: z.string().trim().default('7d,1d,1h'),
  /** The time zone of dates and times written in emails (an IANA name). */
  SIMSTUDIO_MAIL_TIME_ZONE: z.string().trim().default('Europe/London'),
});

export interface MediaConfig {
  workers: number;
  listenIp: string;
  announcedAddress: string | undefined;
  minPort: number;
  maxPort: number;
  /** Off only to try a network without UDP (e.g. the pre-join check's TCP fallback). */
  enableUdp: boolean;
  enableTcp: boolean;
  preferTcp: boolean;
  /** When set, worker i listens on this port + i for all its transports (UDP and TCP). */
  webRtcServerPort: number | undefined;
}

export interface Config {
  host: string;
  port: number;
  publicUrl: string | undefined;
  dataDir: string;
  /** PostgreSQL connection URL; undefined: the embedded SQLite database in the data directory. */
  databaseUrl: string | undefined;
  /** Redis connection URL, for several studio nodes (server/cluster/); undefined: one process. */
  redisUrl: string | undefined;
  /**
   * This node's name (several nodes: it holds leases and writes recordings under it). Stable
   * across restarts of the node, different for every node: SIMSTUDIO_NODE_NAME, else the host's
   * name and the port.
   */
  nodeName: string;
  /** How the other nodes reach this one (http://host:port); undefined: they do not pass it anyone. */
  nodeAddress: string | undefined;
  secret: string | undefined;
  /** Base64 recording master key; undefined: keys/recording-master.key in the data directory. */
  recordingKey: string | undefined;
  inviteTtlSeconds: number;
  resultPeriodDays: number;
  cookieSecure: 'auto' | boolean;
  logLevel: string;
  demo: boolean;
  media: MediaConfig;
  /** Passed to browsers for their transports: TURN in front of the SFU for strict firewalls. */
  iceServers: IceServer[];
  written: { graceMs: number; maxTextBytes: number };
  /** fallback*Bytes: caps on the lead observer's backup recording (per recorder run, per session). */
  recording: { minFreeBytes: number; retentionDays: number; fallbackRunBytes: number; fallbackSessionBytes: number };
  /** Default retention periods (days) of the data classes other than recordings (whose default
   *  is recording.retentionDays); each organisation may set its own. */
  retention: { writtenWork: number; marksAndResults: number; audit: number; equalities: number; emailLog: number };
  /** Collaboration sockets are pinged this often; one missed answer closes them. */
  collabHeartbeatMs: number;
  /** Web origins whose pages may open the studio's WebSockets; undefined: the public URL's
   *  origin (see server/http/origin.ts, allowedOriginsFor). */
  allowedOrigins: string[] | undefined;
  /** Who participants call or write to when the pre-join check finds a problem (shown as is). */
  helpContact: string | null;
  /** Booking refuses an observer or lead observer who has not passed a calibration case. */
  requireCalibration: boolean;
  /** Staff sign-in sessions: closed after idleSeconds unused, absoluteSeconds after sign-in. */
  staffSessions: { idleSeconds: number; absoluteSeconds: number };
  /** smtp: where mail goes; null (the embedded default): printed to the log, kept in the outbox.
   *  reminders: before a session's start, longest first; timeZone: of dates written in emails. */
  mail: { smtp: SmtpSettings | null; reminders: ReminderOffset[]; timeZone: string };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  if (e.SIMSTUDIO_MEDIA_MIN_PORT > e.SIMSTUDIO_MEDIA_MAX_PORT) {
    throw new Error('invalid configuration: SIMSTUDIO_MEDIA_MIN_PORT is above SIMSTUDIO_MEDIA_MAX_PORT');
  }
  if (e.SIMSTUDIO_MEDIA_UDP === 'false' && e.SIMSTUDIO_MEDIA_TCP === 'false') {
    throw new Error('invalid configuration: SIMSTUDIO_MEDIA_UDP and SIMSTUDIO_MEDIA_TCP cannot both be false');
  }
  return {
    host: e.SIMSTUDIO_HOST,
    port: e.SIMSTUDIO_PORT,
    publicUrl: e.SIMSTUDIO_PUBLIC_URL?.replace(/\/$/, ''),
    dataDir: path.resolve(e.SIMSTUDIO_DATA_DIR),
    databaseUrl: e.DATABASE_URL || undefined,
    redisUrl: e.REDIS_URL || undefined,
    nodeName: e.SIMSTUDIO_NODE_NAME ?? defaultNodeName(e.SIMSTUDIO_PORT),
    nodeAddress: e.SIMSTUDIO_NODE_ADDRESS,
    secret: e.SIMSTUDIO_SECRET,
    recordingKey: e.SIMSTUDIO_RECORDING_KEY?.trim() || undefined,
    inviteTtlSeconds: Math.round(e.SIMSTUDIO_INVITE_TTL_HOURS * 3600),
    resultPeriodDays: e.SIMSTUDIO_RESULT_PERIOD_DAYS,
    cookieSecure: e.SIMSTUDIO_COOKIE_SECURE === 'auto' ? 'auto' : e.SIMSTUDIO_COOKIE_SECURE === 'true',
    logLevel: e.SIMSTUDIO_LOG_LEVEL,
    demo: e.SIMSTUDIO_DEMO === 'true',
    media: {
      workers: e.SIMSTUDIO_MEDIA_WORKERS,
      listenIp: e.SIMSTUDIO_MEDIA_LISTEN_IP,
      announcedAddress: e.SIMSTUDIO_MEDIA_ANNOUNCED_ADDRESS,
      minPort: e.SIMSTUDIO_MEDIA_MIN_PORT,
      maxPort: e.SIMSTUDIO_MEDIA_MAX_PORT,
      enableUdp: e.SIMSTUDIO_MEDIA_UDP === 'true',
      enableTcp: e.SIMSTUDIO_MEDIA_TCP === 'true',
      preferTcp: e.SIMSTUDIO_MEDIA_PREFER_TCP === 'true',
      webRtcServerPort: e.SIMSTUDIO_MEDIA_WEBRTC_SERVER_PORT,
    },
    iceServers: parseIceServers(e.SIMSTUDIO_ICE_SERVERS),
    allowedOrigins: allowedOriginsFromEnv(e.SIMSTUDIO_ALLOWED_ORIGINS),
    helpContact: e.SIMSTUDIO_HELP_CONTACT || null,
    requireCalibration: e.SIMSTUDIO_REQUIRE_CALIBRATION === 'true',
    staffSessions: { idleSeconds: Math.round(e.SIMSTUDIO_STAFF_IDLE_HOURS * 3600), absoluteSeconds: Math.round(e.SIMSTUDIO_STAFF_ABSOLUTE_HOURS * 3600) },
    mail: {
      smtp: smtpFromEnv(e.SIMSTUDIO_SMTP_URL, e.SIMSTUDIO_MAIL_FROM),
      reminders: configured('SIMSTUDIO_REMINDERS', () => parseReminderOffsets(e.SIMSTUDIO_REMINDERS)),
      timeZone: configured('SIMSTUDIO_MAIL_TIME_ZONE', () => checkTimeZone(e.SIMSTUDIO_MAIL_TIME_ZONE)),
    },
    written: { graceMs: e.SIMSTUDIO_WRITTEN_GRACE_SECONDS * 1000, maxTextBytes: e.SIMSTUDIO_WRITTEN_MAX_KB * 1024 },
    retention: {
      writtenWork: e.SIMSTUDIO_RETENTION_WRITTEN_DAYS,
      marksAndResults: e.SIMSTUDIO_RETENTION_RESULTS_DAYS,
      audit: e.SIMSTUDIO_RETENTION_AUDIT_DAYS,
      equalities: e.SIMSTUDIO_RETENTION_EQUALITIES_DAYS,
      emailLog: e.SIMSTUDIO_RETENTION_EMAIL_DAYS,
    },
    collabHeartbeatMs: Math.round(e.SIMSTUDIO_COLLAB_HEARTBEAT_SECONDS * 1000),
    recording: {
      minFreeBytes: e.SIMSTUDIO_RECORDING_MIN_FREE_MB * 1024 * 1024,
      retentionDays: e.SIMSTUDIO_RECORDING_RETENTION_DAYS,
      fallbackRunBytes: e.SIMSTUDIO_RECORDING_FALLBACK_RUN_MB * 1024 * 1024,
      fallbackSessionBytes: e.SIMSTUDIO_RECORDING_FALLBACK_SESSION_MB * 1024 * 1024,
    },
    ...overrides,
  };
}

/** A setting's own parser, its error prefixed with the variable's name. */
function configured<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new Error(`invalid configuration: ${name}: ${(error as Error).message}`);
  }
}

function allowedOriginsFromEnv(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return parseAllowedOrigins(raw);
  } catch (error) {
    throw new Error(`invalid configuration: SIMSTUDIO_ALLOWED_ORIGINS: ${(error as Error).message}`);
  }
}

function smtpFromEnv(url: string | undefined, from: string | undefined): SmtpSettings | null {
  if (!url) return null;
  if (!z.url({ protocol: /^smtps?$/ }).safeParse(url).success) {
    throw new Error('invalid configuration: SIMSTUDIO_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…');
  }
  if (!from) throw new Error('invalid configuration: SIMSTUDIO_MAIL_FROM is required with SIMSTUDIO_SMTP_URL (e.g. "SimStudio <no-reply@example.org>")');
  try {
    return { url, from: parseSender(from) };
  } catch (error) {
    throw new Error(`invalid configuration: SIMSTUDIO_MAIL_FROM: ${(error as Error).message}`);
  }
}

function parseIceServers(json: string | undefined): IceServer[] {
  if (!json) return [];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error('invalid configuration: SIMSTUDIO_ICE_SERVERS is not JSON');
  }
  const parsed = IceServersSchema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid configuration: SIMSTUDIO_ICE_SERVERS: ${parsed.error.message}`);
  return parsed.data;
}

/** The host's name and the port (a port chosen by the system: the process id instead). */
function defaultNodeName(port: number): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 40) || 'node';
  return `${host}-${port === 0 ? `pid${process.pid}` : port}`;
}
