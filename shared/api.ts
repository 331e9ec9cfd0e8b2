// HTTP API shapes shared by server and client.
import type { DayState } from './assessment.ts';
import type { Level } from './domain.ts';
import type { ApiErrorCode } from './errors.ts';
import type { RecordingStatus } from './protocol.ts';
import type { Role } from './roles.ts';
import type { OrgRole } from './people.ts';
import type { TestCallSummary } from './prejoin.ts';

export interface HealthResponse {
  status: 'ok' | 'degraded';
  version: string;
  mediasoup: { workers: number; pids: number[] };
  db: 'ok' | 'error';
  /** Live connections to this studio node (a balancer's view of where people are). */
  connections: { signalling: number; collab: number };
}

/** Who the browser is signed in as, for one participant of one session. */
export interface MeResponse {
  participantId: string;
  sessionId: string;
  sessionTitle: string;
  sessionLevel: Level;
  displayName: string;
  role: Role;
}

/** What the server writes into a room page it serves to a signed-in participant, as JSON in
 *  `<script type="application/json" id="simstudio-boot">` (data, not code: the page's CSP
 *  stays script-src 'self'), so the page starts without asking GET /api/me first. */
export interface PageBoot {
  me: MeResponse;
  /** The media router's RTP capabilities (the same for every room): the page loads its
   *  mediasoup device while its socket connects, and asks to receive in its join. */
  routerRtpCapabilities?: unknown;
  /** They have accepted the current privacy and recording notices: the page goes straight on,
   *  without asking first (the server still refuses the room to anyone who has not). */
  noticesAccepted?: boolean;
}

export const PAGE_BOOT_ELEMENT_ID = 'simstudio-boot';

export type { ApiErrorCode } from './errors.ts';

export interface ApiError {
  error: { code: ApiErrorCode; message: string };
}

/** Name of the cookie that holds one participant's session (one per participant, so that
 *  several invites can be open in tabs of the same browser). */
export function sessionCookieName(participantId: string): string {
  return `simstudio_p_${participantId}`;
}

export function roomPath(participantId: string): string {
  return `/room/${participantId}`;
}

/** Where an invite link lands: the room, except for an analyst, who has no place in it and
 *  works on the analytics page. */
export function landingPath(participant: { id: string; role: Role }): string {
  return participant.role === 'analyst' ? `/analytics/${encodeURIComponent(participant.id)}` : roomPath(participant.id);
}

/** A live-board row: one session today, what phase it is in, who is here, what is wrong. */
export interface BoardRow {
  sessionId: string;
  title: string;
  day: DayState | null;
  /** testCall: the participant's newest pre-join test call (null: not done). */
  people: Array<{ participantId: string; displayName: string; role: Role; connected: boolean; testCall: TestCallSummary | null }>;
  warnings: string[];
  /** Faults of the studio itself that need someone to act (e.g. the database refused a
   *  timed transition, which is being retried); each stays until the fault clears. */
  alerts: BoardAlert[];
}

/** A server-side fault shown on the live board until it clears. */
export interface BoardAlert {
  /** DAY_TRANSITION_RETRYING: a hard deadline passed but storing the next phase failed; the
   *  server retries with backoff (the phase changes for everyone once it is stored). */
  code: 'DAY_TRANSITION_RETRYING';
  message: string;
  /** When the first attempt failed (server clock, ms). */
  since: number;
  attempts: number;
}

export interface InviteRow {
  participantId: string;
  role: Role;
  displayName: string;
  /** Only candidates and actors have links. Staff sign in as themselves (at /signin): no link
   *  that signs in as them is ever handed to anyone else. */
  link: string | null;
  /** For staff: whether they have an account to sign in with (else an administrator or
   *  coordinator adds their email under People). */
  staffAccount?: boolean;
  /** A candidate's or actor's link was withdrawn (or ran out): the coordinator reissues one. */
  withdrawn?: boolean;
}

/** GET /api/studio/people: someone of the coordinator's organisation who can be booked. */
export interface BookablePerson {
  id: string;
  displayName: string;
  roles: OrgRole[];
}

/** What POST /api/studio/sessions answers with (201). */
export interface BookedSession {
  sessionId: string;
  invites: InviteRow[];
}

export function studioPath(participantId: string): string {
  return `/studio/${encodeURIComponent(participantId)}`;
}

/** An evidence note as the playback page shows it. */
export interface EvidenceNoteView {
  observerId: string;
  observerName: string;
  scenario: number | 'reflective';
  /** Milliseconds from the start of the scenario phase. */
  atMs: number;
  domainId: string | null;
  text: string;
  createdAt: number;
}

/** One stored recording segment (per on-stage participant, per phase), as GET
 *  /api/sessions/<id>/recordings lists it. */
export interface RecordingRow {
  id: string;
  sessionId: string;
  phaseIndex: number;
  scenarioKey: string;
  participantId: string;
  segment: number;
  /** When the recorded phase began: evidence note times count from here. */
  phaseStartedAt: number;
  /** 'fallback': uploaded from the lead observer's page while the server recorder was down. */
  status: 'recording' | 'complete' | 'interrupted' | 'deleted' | 'fallback';
  /** Server time of the file's zero: it lies `startedAt − phaseStartedAt` ms into the phase. */
  startedAt: number;
  /** The same instant on the sender's wall clock, from its RTCP sender reports (null: none). */
  senderStartedAt: number | null;
  /** How frame times were found: the sender's reports (lip sync kept), or arrival (a fallback). */
  timing: 'sender-report' | 'arrival' | null;
  endedAt: number | null;
  bytes: number | null;
  sha256: string | null;
  durationMs: number | null;
}

/** Someone who was recorded. */
export interface RecordedPerson {
  participantId: string;
  displayName: string;
  role: Role;
}

/** What GET /api/sessions/<id>/recordings answers with. */
export interface RecordingsResponse {
  status: RecordingStatus;
  recordings: RecordingRow[];
  people: RecordedPerson[];
}
