import { z } from 'zod';

/** Everyone who takes part in a session has exactly one of these roles. */
export const ROLES = ['candidate', 'actor', 'observer', 'leadObserver', 'moderator', 'coordinator'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const ROLE_LABELS: Record<Role, string> = {
  candidate: 'Candidate',
  actor: 'Actor',
  observer: 'Observer',
  leadObserver: 'Lead observer',
  moderator: 'Moderator',
  coordinator: 'Coordinator',
};

/** Roles whose camera and microphone are part of the live scenario. */
export type Stage = ReadonlySet<Role>;

/**
 * Who is "on stage" (seen and heard) by default: the candidate and the actor.
 * The reflective conversation puts the lead observer on stage instead of the actor;
 * media rules take the stage as a parameter so that phase logic can change it.
 */
export const SCENARIO_STAGE: Stage = new Set<Role>(['candidate', 'actor']);

/** Roles that watch unseen. Nothing about them may ever reach a candidate or actor. */
export const HIDDEN_ROLES: ReadonlySet<Role> = new Set<Role>(['observer', 'leadObserver', 'moderator', 'coordinator']);

export function mayPublish(role: Role, stage: Stage): boolean {
  return stage.has(role);
}

/**
 * Whether `viewer` may receive media published by `publisher`.
 * On-stage people see only each other; hidden watchers see everyone on stage.
 */
export function mayConsume(viewer: Role, publisher: Role, stage: Stage): boolean {
  if (!stage.has(publisher)) return false;
  return stage.has(viewer) || HIDDEN_ROLES.has(viewer);
}

/** Whether `viewer` may learn that `other` exists or is present. */
export function mayKnowAbout(viewer: Role, other: Role, stage: Stage): boolean {
  if (HIDDEN_ROLES.has(viewer)) return true;
  return stage.has(other);
}
