// The composition root: database, auth, media, HTTP and signalling wired together.
// `startStudio` is what `npm start` runs and what the tests start on a free port.
import fs from 'node:fs';
import http from 'node:http';
import express from 'express';
import type * as Y from 'yjs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HealthResponse } from '../shared/api.ts';
import { RoomRegistry } from '../media/rooms.ts';
import { WorkerPool } from '../media/worker-pool.ts';
import { ParticipantAuth } from './auth/participant-auth.ts';
import { SignInFailures } from './auth/sign-in-failures.ts';
import { loadOrCreateSecret } from './auth/secret.ts';
import { TokenService } from './auth/tokens.ts';
import type { Config } from './config.ts';
import { AuditRepo } from './db/audit-repo.ts';
import { databaseHealthy, databaseLocation, openStudioDatabase, type Database } from './db/database.ts';
import { SessionsRepo } from './db/sessions-repo.ts';
import { createHttpApp } from './http/app.ts';
import { allowedOriginsFor, originAllowed } from './http/origin.ts';
import { tightenTree } from './data-dir.ts';
import { assessmentRoutes } from './http/assessment-routes.ts';
import { moderationRoutes } from './http/moderation-routes.ts';
import { analyticsRoutes } from './http/analytics-routes.ts';
import { equalitiesRoutes } from './http/equalities-routes.ts';
import { EqualitiesRepo } from './equalities/equalities-repo.ts';
import { calibrationRoutes } from './http/calibration-routes.ts';
import { CalibrationRepo } from './calibration/calibration-repo.ts';
import { CalibrationService } from './calibration/calibration-service.ts';
import { CohortAnalyticsService } from './analytics/cohort-analytics-service.ts';
import { AngoffRepo } from './analytics/angoff-repo.ts';
import { ModerationService } from './moderation/moderation-service.ts';
import { Invites } from './invites.ts';
import { createLogger, type Logger } from './log.ts';
import { attachSignalling } from './signalling/socket-server.ts';
import { connectRedis } from './cluster/redis-link.ts';
import { NodePresence } from './cluster/node-presence.ts';
import { holderElsewhere, passSessionsToHolders } from './cluster/session-proxy.ts';
import { SessionLeases } from './cluster/session-leases.ts';
import { AssessmentService } from './assessment/assessment-service.ts';
import { ScenarioBank } from './assessment/scenario-bank.ts';
import { TemplatesRepo } from './assessment/templates-repo.ts';
import { attachCollab, type CollabServer } from './collab/collab-server.ts';
import { DocStore } from './collab/doc-store.ts';
import { UpdateWriter } from './collab/update-writer.ts';
import { createCollabPolicy } from './collab/policy.ts';
import { readEvidenceNotes } from './collab/evidence-notes.ts';
import { rubricViews } from './collab/rubric-view.ts';
import type { EvidenceNoteView } from '../shared/api.ts';
import type { Participant } from '../shared/domain.ts';
import { dayOver } from '../shared/assessment.ts';
import { WrittenExercise } from './written/written-exercise.ts';
import { RecordingService } from './recording/recording-service.ts';
import { checkRecordingKey, loadOrCreateRecordingKey } from './recording/recording-key.ts';
import type { RecordingMasterKey } from './recording/recording-cipher.ts';
import { ProbeService } from './prejoin/probe-service.ts';
import { prejoinRoutes } from './prejoin/prejoin-routes.ts';
import { TestCallRepo } from './prejoin/test-call-repo.ts';
import { PeopleRepo } from './people/people-repo.ts';
import { StaffSessions } from './identity/staff-sessions.ts';
import { MagicLinks } from './identity/magic-links.ts';
import { SsoRepo } from './identity/sso-repo.ts';
import { identityRoutes } from './http/identity-routes.ts';
import { supportRoutes } from './http/support-routes.ts';
import { passkeyRoutes } from './http/passkey-routes.ts';
import { Passkeys, relyingPartyFor } from './identity/passkeys.ts';
import { PasskeyRepo } from './identity/passkeys-repo.ts';
import { Mailer } from './mail/mailer.ts';
import { BookingEvents } from './programme/booking-events.ts';
import { DataProtection } from './data-protection/data-protection.ts';
import { dataProtectionRoutes } from './data-protection/data-protection-routes.ts';
import { ProgrammeService } from './programme/programme-service.ts';
import { programmeRoutes } from './http/programme-routes.ts';
import { subjectAccessRoutes } from './data-protection/subject-access-routes.ts';
import type { SubjectAccessContributor } from './data-protection/subject-access.ts';
import { Notifications } from './programme/notifications.ts';
import { MailTemplates } from './mail/mail-templates.ts';
import { mailRoutes } from './mail/mail-routes.ts';
import { DAY_CHANGED_CHANNEL } from './assessment/plans-repo.ts';
import { listenToPostgres } from './db/postgres/listener.ts';
import { holdStudioLock } from './backup/studio-lock.ts';
import { NoticesRepo } from './privacy/notices-repo.ts';
import { PrivacyNotices } from './privacy/privacy-notices.ts';
import { privacyRoutes } from './privacy/privacy-routes.ts';

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
  assessment: AssessmentService;
  bank: ScenarioBank;
  templates: TemplatesRepo;
  /** Participants of a session with a live connection now (on any studio node, with Redis). */
  connectedParticipantIds(sessionId: string): Promise<Set<string>>;
  collab: CollabServer;
  written: WrittenExercise;
  recordings: RecordingService;
  moderation: ModerationService;
  calibration: CalibrationService;
  /** Outgoing mail: the outbox and its delivery (SMTP, or the log without it). */
  mailer: Mailer;
  /** What happened to bookings (booked, rescheduled, cancelled, swapped, result available), for notifications. */
  bookingEvents: BookingEvents;
  /** Retention periods and runs, legal holds, erasure (server/data-protection/). */
  dataProtection: DataProtection;
  /** The sessions calendar and changes to bookings (issue 15). */
  programme: ProgrammeService;
  /** Programme email: invitations, changes, cancellations, reminders, result available. */
  notifications: Notifications;
  /** Privacy and recording notices, participants' answers, and who may join the room. */
  privacy: PrivacyNotices;
  docStore: DocStore;
  /** Sections other parts of the studio add to a subject access export's records.json (by name). */
  subjectAccessContributors: Map<string, SubjectAccessContributor>;
  people: PeopleRepo;
  staffSessions: StaffSessions;
  magicLinks: MagicLinks;
  /** The HTTP app (its router lists every route: the cross-organisation matrix checks it covers them). */
  httpApp: express.Express;
  log: Logger;
  close(): Promise<void>;
}

/** Opens the data directory's database and signing secret (no network, no media). */
export function openData(config: Config): { db: Database; sessions: SessionsRepo; audit: AuditRepo; tokens: TokenService; invites: Invites } {
  const db = openStudioDatabase(config);
  const tokens = new TokenService(loadOrCreateSecret(config.dataDir, config.secret));
  const invites = new Invites(tokens, db, { ttlSeconds: config.inviteTtlSeconds, resultPeriodDays: config.resultPeriodDays });
  return { db, sessions: new SessionsRepo(db), audit: new AuditRepo(db), tokens, invites };
}

/** The assessment layer over the data directory, with the bank and templates seeded.
 *  `now`: its clock (the synthetic cohort books and runs days in the past). */
export function openAssessment(data: ReturnType<typeof openData>, log: Logger, now?: () => number): AssessmentService {
  const bank = new ScenarioBank(data.db);
  const templates = new TemplatesRepo(data.db);
  bank.seedIfEmpty();
  templates.seedIfEmpty();
  return new AssessmentService({ db: data.db, sessions: data.sessions, bank, templates, audit: data.audit, log }, now);
}

/** Moderation over the stored rubric documents, for offline tools (the synthetic cohort, the
 *  moderation benchmark, tests): no live documents and no recordings. */
export function openModeration(
  data: ReturnType<typeof openData>,
  deps: { assessment: AssessmentService; store: DocStore; written: WrittenExercise; log: Logger; now?: () => Date },
): ModerationService {
  return new ModerationService({
    db: data.db,
    sessions: data.sessions,
    assessment: deps.assessment,
    written: deps.written,
    audit: data.audit,
    rubricDoc: rubricViews(deps.store, data.sessions),
    recordedParts: () => [],
    log: deps.log,
    ...(deps.now ? { now: deps.now } : {}),
  });
}

/** Data protection over the data directory (the server and `npm run admin` both use it). */
export function openDataProtection(config: Config, data: { db: Database; audit: AuditRepo }, log?: Logger): DataProtection {
  return new DataProtection({
    db: data.db,
    audit: data.audit,
    recordingsDir: path.join(config.dataDir, 'recordings'),
    defaults: { recordings: config.recording.retentionDays, ...config.retention },
    ...(log ? { log } : {}),
  });
}

export function baseUrlFor(config: Config, port: number): string {
  return config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
}

export async function startStudio(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Studio> {
  // Several studio nodes share Socket.IO's channels through Redis (one process needs none): an
  // unreachable Redis stops the start here, before anything is opened.
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, log) : null;
  const { db, sessions, audit, tokens, invites } = openData(config);
  // `npm run restore` refuses to swap the data directory while this is held.
  const studioLock = holdStudioLock(config.dataDir);
  tightenTree(path.join(config.dataDir, 'recordings')); // 0700 before the recorder writes there
  // A wrong recording master key stops the start here, before anything runs or is served.
  let recordingKey: RecordingMasterKey;
  try {
    recordingKey = loadOrCreateRecordingKey(config.dataDir, config.recordingKey);
    checkRecordingKey(db, recordingKey);
  } catch (error) {
    db.close();
    await redis?.close();
    throw error;
  }
  const bank = new ScenarioBank(db);
  const templates = new TemplatesRepo(db);
  const assessment = new AssessmentService({ db, sessions, bank, templates, audit, log });
  const docStore = new DocStore(db);
  const updateWriter = new UpdateWriter(databaseLocation(config));
  await updateWriter.start();
  const cohortAnalyticsService = new CohortAnalyticsService(databaseLocation(config));
  // Set once the collaboration server exists (it is created after the HTTP server).
  let storing: (docName: string) => boolean = () => false;
  const written = new WrittenExercise({ db, store: docStore, assessment, audit, log, storing: (name) => storing(name) }, config.written);
  const pool = new WorkerPool(config.media, log);
  await pool.start();
  const rooms = new RoomRegistry(pool, config.media, log, (sessionId) => assessment.stageFor(sessionId));
  // Ready before the first room page is served (it carries them).
  void rooms.routerRtpCapabilities().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not read the router capabilities yet'));
  // Several nodes: a session is recorded (and owned) by the node holding its lease, the one its
  // people are connected to; which sessions those are is known once signalling exists.
  let localSessions: () => Iterable<string> = () => [];
  // Stamped every second, so the other nodes know this one is alive (and finish its cut
  // segments if it dies). Stamped before the recordings look for this node's own cut segments:
  // from then on no other node takes them over.
  const presence = redis ? new NodePresence({ db, node: config.nodeName, log }) : null;
  presence?.start();
  const leases = redis
    ? new SessionLeases({
        db,
        node: config.nodeName,
        log,
        wanted: () => [...localSessions()].filter((id) => {
          const status = assessment.dayState(id)?.status;
          return status !== undefined && !dayOver(status);
        }),
      })
    : null;
  const recordings = new RecordingService(
    { db, dataDir: config.dataDir, rooms, assessment, audit, log, key: recordingKey, ...(leases ? { cluster: { leases } } : {}) },
    config.recording,
  );
  const people = new PeopleRepo(db);
  const staffSessions = new StaffSessions({ db, people, timeouts: config.staffSessions });
  const magicLinks = new MagicLinks(db);
  const auth = new ParticipantAuth({ tokens, sessions, links: invites.links, staff: staffSessions, people });
  const probes = new ProbeService({ pickWorker: () => pool.pick(), media: config.media, iceServers: config.iceServers, log });
  const testCalls = new TestCallRepo(db);
  // Delivers what was left queued before a restart, then whatever is queued from now on.
  const mailer = new Mailer({ db, log, smtp: config.mail.smtp });
  mailer.start();
  const bookingEvents = new BookingEvents(db, log);
  const dataProtection = openDataProtection(config, { db, audit }, log);
  const programme = new ProgrammeService({ db, sessions, people, assessment, invites, audit, events: bookingEvents });
  assessment.on('booked', (sessionId, organisationId) => bookingEvents.emit({ kind: 'booked', sessionId, organisationId }));
  assessment.on('dayStopped', (sessionId) => bookingEvents.emit({ kind: 'day-stopped', sessionId, organisationId: sessions.organisationOf(sessionId) ?? sessions.defaultOrganisation() }));
  const mailTemplates = new MailTemplates(db);
  const privacy = new PrivacyNotices({
    repo: new NoticesRepo(db),
    sessions,
    audit,
    organisationOf: (participant) => auth.organisationOf(participant),
    organisationName: (id) => people.organisation(id)?.name ?? 'Your organisation',
    dayOver: (sessionId) => dayOver(assessment.dayState(sessionId)?.status),
    helpContact: config.helpContact,
  });

  // Set once the signalling and collaboration servers exist (after the HTTP routes).
  let liveConnections = (): HealthResponse['connections'] => ({ signalling: 0, collab: 0 });
  const health = (): HealthResponse => {
    const pids = pool.pids;
    const dbOk = databaseHealthy(db);
    return {
      status: dbOk && pids.length === config.media.workers ? 'ok' : 'degraded',
      version: VERSION,
      mediasoup: { workers: pids.length, pids },
      db: dbOk ? 'ok' : 'error',
      connections: liveConnections(),
    };
  };

  let baseUrl = '';
  /** Origins whose pages may open WebSockets; known once the port is (set after listen). */
  let allowedOrigins: readonly string[] = [];
  // Set once the signalling server exists (it is created after the HTTP routes).
  const connections = { bySession: async (_ids: readonly string[]): Promise<Map<string, Set<string>>> => new Map() };
  // The rubric as it stands: each document live while anyone has it open, else from the store.
  let liveDoc: (name: string) => Y.Doc | undefined = () => undefined;
  const rubricDoc = rubricViews(docStore, sessions, (name) => liveDoc(name));
  const evidenceNotes = (sessionId: string, viewer: Participant): EvidenceNoteView[] => readEvidenceNotes(rubricDoc(sessionId), sessions.listParticipants(sessionId), viewer);
  const moderation = new ModerationService({
    db,
    sessions,
    assessment,
    written,
    audit,
    rubricDoc,
    recordedParts: (sessionId) => [...new Set(recordings.list(sessionId).map((r) => r.scenarioKey))],
    log,
    resultSignedOff: (sessionId) => {
      const candidate = sessions.listParticipants(sessionId).find((p) => p.role === 'candidate');
      const organisationId = sessions.organisationOf(sessionId);
      if (candidate && organisationId) bookingEvents.emit({ kind: 'result-available', sessionId, organisationId, candidateParticipantId: candidate.id });
    },
  });
  const notifications = new Notifications({
    db,
    mailer,
    templates: mailTemplates,
    sessions,
    people,
    assessment,
    invites,
    signsInAsStaff: (participant) => auth.signsInAsStaff(participant),
    baseUrl: () => baseUrl,
    organizer: config.mail.smtp ? { name: config.mail.smtp.from.name || 'SimStudio', email: config.mail.smtp.from.address } : null,
    reminders: config.mail.reminders,
    timeZone: config.mail.timeZone,
    log,
  });
  notifications.start(bookingEvents);
  const calibration = new CalibrationService({
    repo: new CalibrationRepo(db),
    sessions,
    plans: assessment.plans,
    bank,
    moderation,
    recordings: () => recordings,
    audit,
    organisationOf: (viewer) => auth.organisationOf(viewer),
    required: config.requireCalibration,
  });
  const api = express.Router();
  api.use(
    assessmentRoutes({
      auth,
      assessment,
      bank,
      templates,
      sessions,
      invites,
      audit,
      people: (organisationId) => people.list(organisationId),
      baseUrl: () => baseUrl,
      connectedBySession: (sessionIds) => connections.bySession(sessionIds),
      testCalls: (sessionId) => testCalls.latestInSession(sessionId),
      written,
      recordings: () => recordings,
      evidenceNotes,
      bookingCheck: (booking, organisationId) => calibration.assertObserversCalibrated(booking, organisationId),
      log,
    }),
  );
  api.use(programmeRoutes({ auth, programme, invites, baseUrl: () => baseUrl, log }));
  api.use(mailRoutes({ auth, templates: mailTemplates, notifications, mailer, sessions, people, audit, log }));
  api.use(moderationRoutes({ auth, moderation, audit, sessionOfParticipant: (id) => sessions.getParticipant(id)?.sessionId, log }));
  api.use(
    analyticsRoutes({
      auth,
      audit,
      templates,
      angoff: new AngoffRepo(db),
      analytics: cohortAnalyticsService,
      log,
    }),
  );
  api.use(
    equalitiesRoutes({
      auth,
      audit,
      equalities: new EqualitiesRepo(db),
      candidateRef: (candidate) => assessment.plans.plan(candidate.sessionId)?.candidateRef ?? null,
      report: (range, labels) => cohortAnalyticsService.equalities(range, labels),
      log,
    }),
  );
  api.use(calibrationRoutes({ auth, calibration, audit, recordings: () => recordings, log }));
  api.use(supportRoutes({ auth, assessment, moderation, sessions, audit, log }));
  const signInFailures = new SignInFailures(audit, log);
  // Client secrets sealed under the studio's signing secret; any an older studio stored in the clear are sealed now.
  const sso = new SsoRepo({ db, signingSecret: loadOrCreateSecret(config.dataDir, config.secret), log });
  sso.sealStoredInClear();
  const identity = identityRoutes({ people, staffSessions, magicLinks, sso, sessions, assessment, audit, signInFailures, sendMail: (mail) => void mailer.enqueue(mail), outbox: (organisationId) => mailer.list(organisationId, { limit: 200 }), baseUrl: () => baseUrl, cookieSecure: config.cookieSecure, log });
  api.use(identity.api);
  api.use(dataProtectionRoutes({ dataProtection, staffSessions, audit, db }));
  api.use(passkeyRoutes({ passkeys: new Passkeys(new PasskeyRepo(db), () => relyingPartyFor(baseUrl)), people, staffSessions, audit, signInFailures, cookieSecure: config.cookieSecure, log }));
  const subjectAccessContributors = new Map<string, SubjectAccessContributor>();
  // What the person answered to the privacy and recording notices, session by session.
  subjectAccessContributors.set('privacyNoticeAnswers', (person) =>
    db
      .prepare(
        `SELECT a.session_id AS "sessionId", a.privacy_version AS "privacyNoticeVersion", a.recording_version AS "recordingNoticeVersion", a.decision, a.at
           FROM notice_answers a JOIN participants p ON p.id = a.participant_id WHERE p.person_id = ? ORDER BY a.at`,
      )
      .all(person.id)
      .map((row) => ({ ...row, at: new Date(Number(row.at)).toISOString() })),
  );
  api.use(
    subjectAccessRoutes({
      db,
      people,
      sessions,
      moderation,
      contributors: subjectAccessContributors,
      recordingsDir: path.join(config.dataDir, 'recordings'),
      openRecording: async (file) => (await recordings.openRecordingStream({ file })).stream,
      staffSessions,
      audit,
      log,
    }),
  );
  api.use(privacyRoutes({ auth, notices: privacy, staffSessions, log }));
  api.use(prejoinRoutes({ auth, probes, testCalls, audit, helpContact: config.helpContact, log }));
  const app = createHttpApp({
    extraApi: api,
    extraPages: identity.pages,
    organisationName: (id) => people.organisation(id)?.name ?? 'Your organisation',
    version: VERSION,
    clientDir: path.join(ROOT, 'dist', 'client'),
    auth,
    tokens,
    sessions,
    audit,
    signInFailures,
    sessionTtlSeconds: config.inviteTtlSeconds,
    cookieSecure: config.cookieSecure,
    health,
    routerRtpCapabilities: () => rooms.routerRtpCapabilities(),
    noticesAccepted: (participant) => privacy.acceptedCurrent(participant),
    log,
  });
  const server = http.createServer(app);
  /**
   * A candidate connected during a scenario is on stage in it. Each studio node records its own
   * connections, at once (every node hears of a day's change), so the phase is the one they saw.
   */
  const noteOnStage = (sessionId: string): void => {
    try {
      const here = signalling.localParticipantIds(sessionId);
      assessment.noteOnStage(sessionId, (id) => here.has(id));
    } catch (error) {
      log.error({ sessionId, err: (error as Error).message }, 'recording who was on stage failed');
    }
  };
  const signalling = attachSignalling(server, {
    auth,
    rooms,
    audit,
    assessment,
    sessions,
    recordings,
    iceServers: config.iceServers,
    allowedOrigins: () => allowedOrigins,
    log,
    ...(redis ? { adapter: redis.adapter } : {}),
    // A candidate joining during a scenario is on stage in it: the scenario counts as sat.
    joined: (participant) => noteOnStage(participant.sessionId),
    admission: (p) => privacy.admission(p),
  });
  recordings.on('status', (sessionId, status) => signalling.broadcastRecording(sessionId, status));
  connections.bySession = signalling.connectedBySession;
  const collab = attachCollab(server, {
    auth,
    store: docStore,
    write: (entries) => updateWriter.write(entries),
    policy: createCollabPolicy({
      written,
      rubricLock: (sessionId) => moderation.rubricLock(sessionId),
      participant: (id) => sessions.getParticipant(id),
      sessionLevel: (sessionId) => sessions.getSession(sessionId)?.level,
    }),
    log,
    heartbeatMs: config.collabHeartbeatMs,
    ...(redis ? { fanOut: redis.collabFanOut } : {}),
    admission: (p) => privacy.admission(p),
    originAllowed: (origin) => originAllowed(origin, allowedOrigins),
  });
  // Several nodes: a session's people who land on a node not holding it are passed on to the one
  // that does (after the other upgrade handlers are attached: it goes in front of them).
  if (leases) passSessionsToHolders(server, { node: config.nodeName, holderOf: (sessionId) => holderElsewhere(db, config.nodeName, sessionId), log });
  liveDoc = (name) => collab.doc(name);
  liveConnections = () => ({ signalling: signalling.connectionCount(), collab: collab.connectionCount() });
  storing = (name) => collab.storing(name);
  dataProtection.documentsChanged = (names) => collab.reload(names);
  // A day's transition reaches every client, and moves people on or off stage.
  assessment.on('dayChanged', (sessionId, _state, stage) => {
    signalling.broadcastDayState(sessionId);
    noteOnStage(sessionId);
    void rooms
      .get(sessionId)
      .then((room) => room?.setStage(stage))
      .catch((error: unknown) => log.error({ sessionId, err: (error as Error).message }, 'moving people on or off stage failed'));
  });
  assessment.start();
  // Days changed by another studio process on the same PostgreSQL database reach this one's
  // people at once, not only when a timer here finds the day moved.
  const stopDayListener = config.databaseUrl
    ? listenToPostgres({
        url: config.databaseUrl,
        channel: DAY_CHANGED_CHANNEL,
        onNotify: (sessionId) => assessment.dayChangedElsewhere(sessionId),
        resync: () => assessment.resyncDays(),
        log,
      })
    : null;
  written.restore();
  recordings.start(assessment);
  localSessions = () => signalling.localSessionIds();
  if (leases) assessment.gateDayTimers((sessionId) => leases.actsFor(sessionId));
  // Another node took a session over while this one stalled: the balancer now sends its people
  // there, so those still connected here go too, or the session's call would be split in two.
  leases?.on('lost', (sessionId, why) => {
    if (why !== 'taken') return;
    const moved = signalling.sendSessionElsewhere(sessionId);
    if (moved > 0) log.warn({ sessionId, connections: moved }, 'session taken over by another node: its people here sent to reconnect');
  });
  leases?.start();
  dataProtection.start();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = baseUrlFor(config, port);
  allowedOrigins = allowedOriginsFor(config, baseUrl);
  if (config.nodeAddress) presence?.advertise(config.nodeAddress);
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
    assessment,
    bank,
    templates,
    connectedParticipantIds: signalling.connectedParticipantIds,
    collab,
    written,
    recordings,
    moderation,
    calibration,
    mailer,
    bookingEvents,
    dataProtection,
    programme,
    notifications,
    privacy,
    docStore,
    subjectAccessContributors,
    people,
    staffSessions,
    magicLinks,
    httpApp: app,
    log,
    async close() {
      signInFailures.close();
      dataProtection.close();
      await recordings.close();
      // Let go once nothing records here: another node may take the sessions at once.
      leases?.close();
      presence?.close();
      await notifications.close();
      await mailer.close();
      written.close();
      probes.close();
      await stopDayListener?.();
      assessment.close();
      await collab.close();
      await updateWriter.close();
      await cohortAnalyticsService.close();
      rooms.closeAll();
      server.closeAllConnections();
      await signalling.close();
      await redis?.close();
      pool.close();
      db.close();
      studioLock.release();
    },
  };
}
