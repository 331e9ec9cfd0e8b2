// Domain model: sessions and the people invited to them.
import { z } from 'zod';
import { RoleSchema, type Role } from './roles.ts';

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
}

export const NewParticipantSchema = z.strictObject({
  role: RoleSchema,
  displayName: z.string().trim().min(1).max(120),
});

export const NewSessionSchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  level: LevelSchema,
  participants: z.array(NewParticipantSchema).min(1).max(50),
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
