// /studio/<participantId>: the coordinator's studio.
import { participantFromPath } from '../lib/page-route.ts';

/** The participant id in a /studio/<id> path, or null for any other path. */
export function studioParticipantFromPath(pathname: string): string | null {
  return participantFromPath(pathname, 'studio');
}

export { studioPath } from '../../shared/api.ts';
