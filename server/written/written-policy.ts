// Who may read and write the written exercise, and what a write may contain (the written
// branch of the collaboration policy; server/collab/policy.ts delegates here). The window
// itself (open, paused, closed, grace) is kept by WrittenExercise.
import type * as Y from 'yjs';
import { CLOSE_CODES } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { HIDDEN_ROLES } from '../../shared/roles.ts';
import type { CollabConnection, DocAccess, IncomingUpdate, Refusal } from '../collab/collab-server.ts';
import type { WrittenExercise } from './written-exercise.ts';
import { checkWrittenStructs } from './written-update.ts';

export interface WrittenPolicy {
  access(participant: Participant, sessionId: string, connection: CollabConnection): DocAccess;
  readOnlyReason(participant: Participant, sessionId: string): string;
  checkUpdate(
    sessionId: string,
    current: Y.Doc,
    update: IncomingUpdate,
    context: { connection: CollabConnection; step: 'sync-step-2' | 'update'; uncommittedBytes: number },
  ): Refusal | null;
  connected(participant: Participant, sessionId: string, connection: CollabConnection): void;
  disconnected(participant: Participant, sessionId: string, connection: CollabConnection): void;
}

/** The client shows these words; it recognises "time is up" (stop for good) and "paused" (wait). */
const REASONS = {
  notStarted: 'the written exercise has not started yet',
  paused: 'the assessment day is paused: writing resumes when the day resumes',
  timeIsUp: 'time is up: your written exercise has been submitted',
  graceSyncOnly: 'time is up: after the deadline only work made offline before it is accepted, when reconnecting',
} as const;

/**
 * Only the candidate writes, and only inside the window the server keeps; observers,
 * moderators and coordinators read it once submitted; actors never.
 *
 * The grace is one message per connection: a candidate who had no connection open at the
 * deadline reconnects, and the SyncStep2 answering the server's greeting (y-protocols: the
 * client's diff against the server's state vector, i.e. what it made offline) is the only
 * change accepted from that connection; anything after it is new typing and refused.
 */
export function createWrittenPolicy(written: WrittenExercise): WrittenPolicy {
  /** Connections whose reconnect sync was taken within the grace. */
  const graceUsed = new Set<number>();

  const candidateAccess = (sessionId: string, connection: CollabConnection): DocAccess => {
    const write = written.candidateWrite(sessionId, connection);
    if (write === 'grace') return graceUsed.has(connection.id) ? 'read' : 'write';
    return write;
  };

  return {
    access(participant, sessionId, connection) {
      if (participant.role === 'candidate') return candidateAccess(sessionId, connection);
      if (HIDDEN_ROLES.has(participant.role)) return written.readersMayRead(sessionId) ? 'read' : 'none';
      return 'none';
    },

    readOnlyReason(participant, sessionId) {
      if (participant.role !== 'candidate') return 'read-only: changes are not accepted';
      const { status } = written.status(sessionId);
      if (status === 'not-started') return REASONS.notStarted;
      if (status === 'paused') return REASONS.paused;
      return REASONS.timeIsUp;
    },

    checkUpdate(sessionId, current, update, { connection, step, uncommittedBytes }) {
      const write = written.candidateWrite(sessionId, connection);
      if (write === 'grace') {
        if (step !== 'sync-step-2' || graceUsed.has(connection.id)) return { code: CLOSE_CODES.Forbidden, reason: REASONS.graceSyncOnly };
        graceUsed.add(connection.id);
      } else if (write !== 'write') {
        return { code: CLOSE_CODES.Forbidden, reason: REASONS.timeIsUp };
      }
      // Whole update, whole document, in bytes: what storage would hold after this update.
      if (written.documentBytes(sessionId) + uncommittedBytes + update.bytes.byteLength > written.maxDocumentBytes) {
        return {
          code: CLOSE_CODES.BadRequest,
          reason: `your exercise is over the ${Math.round(written.maxDocumentBytes / 1024)} kB limit (text, formatting and edits); the last change was not saved`,
        };
      }
      const structs = checkWrittenStructs(current, update.decoded);
      return structs.ok ? null : { code: CLOSE_CODES.BadRequest, reason: structs.reason };
    },

    connected(participant, sessionId, connection) {
      if (participant.role === 'candidate') written.candidateConnected(sessionId, connection);
    },

    disconnected(participant, sessionId, connection) {
      graceUsed.delete(connection.id);
      if (participant.role === 'candidate') written.candidateDisconnected(sessionId, connection);
    },
  };
}
