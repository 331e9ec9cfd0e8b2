// Domain model: sessions and the people invited to them.
import { z } from 'zod';
import { ROLES, type Role } from './roles.ts';

export const RoleSchema = z.enum(ROLES);

export const LevelSchema = z.enum(['practitioner', 'supervisor']);
export type Level = z.infer<typeof LevelSchema>;

export interface Session {
  id: string;
  title: string;
  level: Level;
  createdAt: string;
}

export interface Participant {
  id: string;
  sessionId: string;
  role: Role;
  displayName: string;
  createdAt: string;
  /** The person (issue 13) whose place in the session this is. */
  personId?: string;
}

export const PersonIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,80}$/);

export const NewParticipantSchema = z.strictObject({
  role: RoleSchema,
  displayName: z.string().trim().min(1).max(120),
  /** An existing person of the session's organisation; without it a new person is added. */
  personId: PersonIdSchema.optional(),
  /** For a candidate: their reference, which finds them again as the same person. */
  candidateRef: z.string().trim().min(1).max(120).optional(),
});

export const NewSessionSchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  level: LevelSchema,
  participants: z.array(NewParticipantSchema).min(1).max(50),
  /** The organisation the session belongs to (default: the first one, made if none). */
  organisationId: z.string().min(1).max(80).optional(),
});
export type NewSession = z.infer<typeof NewSessionSchema>;

/** What `npm run demo -- --json` prints. */
export interface DemoSessionLinks {
  sessionId: string;
  baseUrl: string;
  invites: {
    candidate: string;
    actor: string;
    leadObserver: string;
    observers: string[];
    moderator: string;
    coordinator: string;
  };
}
