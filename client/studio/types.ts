// Response shapes of the studio API, defined once in shared/.
export type { BoardRow, BookedSession, InviteRow } from '../../shared/api.ts';
