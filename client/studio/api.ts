// The studio's calls go through the shared participant API client.
export { ParticipantApi as StudioApi, type ApiResult } from '../lib/participant-api.ts';
