// Roles and what each may see. No schema library here: the room's page imports this on its way
// to the first picture (RoleSchema, for the server's checks, is in domain.ts).

/** Everyone who takes part in a session has exactly one of these roles. */
export const ROLES = ['candidate', 'actor', 'observer', 'leadObserver', 'moderator', 'coordinator', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  candidate: 'Candidate',
  actor: 'Actor',
  observer: 'Observer',
  leadObserver: 'Lead observer',
  moderator: 'Moderator',
  coordinator: 'Coordinator',
  analyst: 'Analyst',
};

/** Where each role is listed among people (presence, call, recordings): the stage first. */
export const ROLE_RANK: Record<Role, number> = {
  candidate: 0,
  actor: 1,
  leadObserver: 2,
  observer: 3,
  moderator: 4,
  coordinator: 5,
  analyst: 6,
};

/** Roles that are on stage (seen and heard) during a scenario: the candidate and the actor. */
export const SCENARIO_STAGE: ReadonlySet<Role> = new Set<Role>(['candidate', 'actor']);

/** Roles that watch unseen. Nothing about them may ever reach a candidate or actor. */
export const HIDDEN_ROLES: ReadonlySet<Role> = new Set<Role>(['observer', 'leadObserver', 'moderator', 'coordinator']);

/**
 * Roles that take part in the live room. An analyst reads the cohort's equalities monitoring
 * only: they receive no media, never join the room and are never shown in it.
 */
export const ROOM_ROLES: ReadonlySet<Role> = new Set<Role>(['candidate', 'actor', 'observer', 'leadObserver', 'moderator', 'coordinator']);

export interface StageMember {
  id: string;
  role: Role;
}

/**
 * The participants who are on stage right now (seen and heard), by participant id. A
 * scenario puts the candidate and that scenario's actor on stage; a briefing nobody; the
 * reflective conversation the candidate and the lead observer. Media rules take the stage
 * as a parameter so that the assessment day can change it.
 */
export type Stage = ReadonlySet<string>;

/** Without a running assessment day: every candidate and actor of the session. */
export function defaultStage(participants: readonly StageMember[]): Stage {
  return new Set(participants.filter((p) => SCENARIO_STAGE.has(p.role)).map((p) => p.id));
}

/**
 * Candidates and actors send camera and microphone to the server all day (nobody receives
 * them while they are off stage), so that stepping on stage is instant and the recording
 * starts with the scenario. Anyone else sends only while on stage.
 */
export function mayPublish(participant: StageMember, stage: Stage): boolean {
  return stage.has(participant.id) || SCENARIO_STAGE.has(participant.role);
}

/**
 * Whether `viewer` may receive media published by `publisher`: on-stage people see only
 * each other; hidden watchers see everyone on stage; off-stage actors and candidates nothing.
 */
export function mayConsume(viewer: StageMember, publisher: StageMember, stage: Stage): boolean {
  if (!ROOM_ROLES.has(viewer.role) || !ROOM_ROLES.has(publisher.role)) return false;
  if (viewer.id === publisher.id || !stage.has(publisher.id)) return false;
  return stage.has(viewer.id) || HIDDEN_ROLES.has(viewer.role);
}

/** Whether `viewer` may learn that `other` exists or is present. */
export function mayKnowAbout(viewer: StageMember, other: StageMember, stage: Stage): boolean {
  if (!ROOM_ROLES.has(viewer.role) || !ROOM_ROLES.has(other.role)) return false;
  return HIDDEN_ROLES.has(viewer.role) || stage.has(other.id);
}
