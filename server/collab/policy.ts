// Who may read and write which collaborative document.
import type { Participant } from '../../shared/domain.ts';
import type { CollabDocKind } from '../../shared/collab.ts';
import { CLOSE_CODES } from '../../shared/collab.ts';
import type { CollabPolicy, DocAccess } from './collab-server.ts';
import { checkRubricUpdate } from './rubric-guard.ts';

/**
 * Rubric: observers (lead included) score; moderators and coordinators read; candidates and
 * actors never reach it. Written exercise: the candidate writes; observers, moderators and
 * coordinators read; actors never.
 */
export const studioCollabPolicy: CollabPolicy = {
  access(participant: Participant, doc: { kind: CollabDocKind }): DocAccess {
    const role = participant.role;
    if (doc.kind === 'rubric') {
      if (role === 'observer' || role === 'leadObserver') return 'write';
      if (role === 'moderator' || role === 'coordinator') return 'read';
      return 'none';
    }
    if (role === 'candidate') return 'write';
    if (role === 'actor') return 'none';
    return 'read';
  },
  checkUpdate(participant, doc, current, update) {
    if (doc.kind !== 'rubric') return null;
    const result = checkRubricUpdate(participant, current, update);
    if (result.ok) return null;
    return { code: result.forbidden ? CLOSE_CODES.Forbidden : CLOSE_CODES.BadRequest, reason: result.reason };
  },
};
