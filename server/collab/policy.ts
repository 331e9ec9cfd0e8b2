// Who may read and write which collaborative document, and what a write may contain.
import type * as Y from 'yjs';
import { CLOSE_CODES, COLLAB_LIMITS, type CollabTarget } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { RUBRIC_MAPS, rubricItemIds, type RubricMap } from '../../shared/rubric.ts';
import type { RubricLock } from '../moderation/moderation-service.ts';
import { createWrittenPolicy } from '../written/written-policy.ts';
import type { WrittenExercise } from '../written/written-exercise.ts';
import type { CollabPolicy, DocAccess } from './collab-server.ts';
import { checkRubricUpdate, sheetSubmitted } from './rubric-guard.ts';

/** Once a moderator begins, observers' ratings and notes are evidence and stop changing; the
 *  lead observer may still finish the narrative feedback until the result is signed off. */
const FROZEN_MAPS: Record<RubricLock, ReadonlySet<RubricMap>> = {
  none: new Set(),
  ratings: new Set(RUBRIC_MAPS.filter((m) => m !== 'feedback')),
  all: new Set(RUBRIC_MAPS),
};

const SCORERS: ReadonlySet<Participant['role']> = new Set(['observer', 'leadObserver']);
const READERS: ReadonlySet<Participant['role']> = new Set(['moderator', 'coordinator']);

export interface CollabPolicyDeps {
  written: WrittenExercise;
  rubricLock: (sessionId: string) => RubricLock;
  /** A participant by id (to know whose sheet a document is). */
  participant: (participantId: string) => Participant | undefined;
  /** The session's level (which framework's domains may be rated). */
  sessionLevel: (sessionId: string) => 'practitioner' | 'supervisor' | undefined;
}

/**
 * Rubric documents: each observer (lead included) writes only their own sheets, until they
 * submit them; other scorers receive a sheet only once it is submitted; the lead observer
 * writes the lead document, which every scorer reads; moderators and coordinators read all;
 * candidates and actors never reach any. Written exercise: see server/written/written-policy.ts.
 */
export function createCollabPolicy(deps: CollabPolicyDeps): CollabPolicy {
  const written = createWrittenPolicy(deps.written);
  // A session's level never changes: asked once, not on every rubric edit.
  const levels = new Map<string, 'practitioner' | 'supervisor'>();
  const levelOf = (sessionId: string): 'practitioner' | 'supervisor' | undefined => {
    const known = levels.get(sessionId);
    if (known) return known;
    const level = deps.sessionLevel(sessionId);
    if (level) levels.set(sessionId, level);
    return level;
  };

  const sheetAccess = (participant: Participant, target: Extract<CollabTarget, { kind: 'sheet' }>, doc: Y.Doc): DocAccess => {
    const owner = participant.id === target.observerId ? participant : deps.participant(target.observerId);
    if (!owner || owner.sessionId !== target.sessionId || !SCORERS.has(owner.role)) return 'none';
    if (READERS.has(participant.role)) return 'read';
    if (!SCORERS.has(participant.role)) return 'none';
    if (participant.id === owner.id) return sheetSubmitted(doc) || deps.rubricLock(target.sessionId) !== 'none' ? 'read' : 'write';
    return sheetSubmitted(doc) ? 'read' : 'withheld';
  };

  return {
    access(participant, target, doc, connection) {
      switch (target.kind) {
        case 'written':
          return written.access(participant, target.sessionId, connection);
        case 'sheet':
          return sheetAccess(participant, target, doc);
        case 'rubric':
          if (participant.role === 'leadObserver') return deps.rubricLock(target.sessionId) === 'all' ? 'read' : 'write';
          return SCORERS.has(participant.role) || READERS.has(participant.role) ? 'read' : 'none';
      }
    },
    isAuthor(participant, target) {
      switch (target.kind) {
        case 'written':
          return participant.role === 'candidate';
        case 'sheet':
          return participant.id === target.observerId;
        case 'rubric':
          return participant.role === 'leadObserver';
      }
    },
    readOnlyReason(participant, target, doc) {
      if (target.kind === 'written') return written.readOnlyReason(participant, target.sessionId);
      const lock = deps.rubricLock(target.sessionId);
      if (lock === 'all') return 'the result is signed off: the scores can no longer change';
      if (lock === 'ratings' && target.kind === 'sheet') return 'moderation has begun: ratings and notes can no longer change';
      if (target.kind === 'sheet' && participant.id === target.observerId && sheetSubmitted(doc)) {
        return 'your ratings for this scenario were submitted and are final';
      }
      return target.kind === 'sheet' ? 'only its observer writes a scoring sheet' : 'only the lead observer writes the agreed ratings and feedback';
    },
    maxMessageBytes(target) {
      return target.kind === 'written' ? COLLAB_LIMITS.maxMessageBytes : COLLAB_LIMITS.maxRubricMessageBytes;
    },
    checkUpdate(participant, target, current, update, context) {
      if (target.kind === 'written') return written.checkUpdate(target.sessionId, current, update, context);
      const level = levelOf(target.sessionId);
      if (!level) return { code: CLOSE_CODES.NotFound, reason: 'no such session' };
      const result = checkRubricUpdate({ target, itemIds: rubricItemIds(level), frozen: FROZEN_MAPS[deps.rubricLock(target.sessionId)] }, current, update.decoded);
      if (result.ok) return null;
      return { code: result.forbidden ? CLOSE_CODES.Forbidden : CLOSE_CODES.BadRequest, reason: result.reason };
    },
    awareness(target) {
      return target.kind !== 'sheet';
    },
    connected(participant, target, connection) {
      if (target.kind === 'written') written.connected(participant, target.sessionId, connection);
    },
    disconnected(participant, target, connection) {
      if (target.kind === 'written') written.disconnected(participant, target.sessionId, connection);
    },
  };
}
