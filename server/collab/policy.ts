// Who may read and write which collaborative document, and what a write may contain.
import * as Y from 'yjs';
import { CLOSE_CODES, WRITTEN_FRAGMENT } from '../../shared/collab.ts';
import { HIDDEN_ROLES } from '../../shared/roles.ts';
import { plainText } from '../../shared/written-text.ts';
import type { WrittenExercise } from '../written/written-exercise.ts';
import type { CollabPolicy } from './collab-server.ts';
import { RUBRIC_MAPS, type RubricMap } from '../../shared/rubric.ts';
import type { RubricLock } from '../moderation/moderation-service.ts';
import { checkRubricUpdate } from './rubric-guard.ts';

/** Once a moderator begins, observers' ratings and notes are evidence and stop changing; the
 *  lead observer may still finish the narrative feedback until the result is signed off. */
const FROZEN_MAPS: Record<RubricLock, ReadonlySet<RubricMap>> = {
  none: new Set(),
  ratings: new Set(RUBRIC_MAPS.filter((m) => m !== 'feedback')),
  all: new Set(RUBRIC_MAPS),
};

/**
 * Rubric: observers (lead included) score; moderators and coordinators read; candidates and
 * actors never reach it. Written exercise: only the candidate writes, and only inside the
 * window the server keeps; observers, moderators and coordinators read it once submitted;
 * actors never.
 */
export function createCollabPolicy(written: WrittenExercise, rubricLock: (sessionId: string) => RubricLock): CollabPolicy {
  return {
    access(participant, doc, connection) {
      const role = participant.role;
      if (doc.kind === 'rubric') {
        if (role === 'observer' || role === 'leadObserver') return rubricLock(doc.sessionId) === 'all' ? 'read' : 'write';
        if (role === 'moderator' || role === 'coordinator') return 'read';
        return 'none';
      }
      if (role === 'candidate') return written.candidateMayWrite(doc.sessionId, connection.connectedAt) ? 'write' : 'read';
      if (HIDDEN_ROLES.has(role)) return written.readersMayRead(doc.sessionId) ? 'read' : 'none';
      return 'none';
    },
    readOnlyReason(participant, doc) {
      if (doc.kind === 'rubric' && rubricLock(doc.sessionId) === 'all') return 'the result is signed off: the scores can no longer change';
      if (doc.kind !== 'written' || participant.role !== 'candidate') return 'read-only: changes are not accepted';
      return written.status(doc.sessionId).status === 'not-started'
        ? 'the written exercise has not started yet'
        : 'time is up: your written exercise has been submitted';
    },
    checkUpdate(participant, doc, current, update) {
      if (doc.kind === 'rubric') {
        const result = checkRubricUpdate(participant, current, update, FROZEN_MAPS[rubricLock(doc.sessionId)]);
        if (result.ok) return null;
        return { code: result.forbidden ? CLOSE_CODES.Forbidden : CLOSE_CODES.BadRequest, reason: result.reason };
      }
      return checkWrittenUpdate(current, update, written.options.maxTextBytes);
    },
  };
}

/** The written exercise is one rich-text fragment, no larger than the cap. */
function checkWrittenUpdate(current: Y.Doc, update: Uint8Array, maxTextBytes: number): { code: 4400; reason: string } | null {
  const probe = new Y.Doc();
  try {
    Y.applyUpdate(probe, Y.encodeStateAsUpdate(current));
    Y.applyUpdate(probe, update);
    for (const name of probe.share.keys()) {
      if (name !== WRITTEN_FRAGMENT) return { code: CLOSE_CODES.BadRequest, reason: 'this is not part of the written exercise' };
    }
    const size = Buffer.byteLength(plainText(probe.getXmlFragment(WRITTEN_FRAGMENT)), 'utf8');
    if (size > maxTextBytes) {
      return { code: CLOSE_CODES.BadRequest, reason: `your text is over the ${Math.round(maxTextBytes / 1024)} kB limit; the last change was not saved` };
    }
    return null;
  } finally {
    probe.destroy();
  }
}
