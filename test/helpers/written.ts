// The written exercise from a test's side: a participant's raw y-websocket connection to it (a
// reconnect may carry on with the same device's document), its status as their page reads it,
// and the text the database holds.
import { WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { plainText } from '../../shared/written-text.ts';
import type { BookedDay } from './assessment.ts';
import { RawCollabClient, collabUrl } from './collab-client.ts';
import { signIn, type TestStudio } from './studio.ts';

/** Opens the written exercise as `who` (default the candidate); `reuse`: the same device again. */
export async function openWritten(studio: TestStudio, day: BookedDay, who: Participant = day.candidate, reuse?: RawCollabClient): Promise<RawCollabClient> {
  const client = new RawCollabClient(
    collabUrl(studio.baseUrl, collabDocName(day.sessionId, 'written'), who.id),
    { cookie: await signIn(studio, who) },
    reuse && { ydoc: reuse.ydoc, serverView: reuse.serverView },
  );
  await client.opened;
  return client;
}

/** GET /api/sessions/:id/written as `who` (default the candidate). */
export async function writtenStatus(studio: TestStudio, day: BookedDay, who: Participant = day.candidate): Promise<WrittenStatus> {
  const res = await fetch(`${studio.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${who.id}`, {
    headers: { cookie: await signIn(studio, who) },
  });
  return (await res.json()) as WrittenStatus;
}

/** The exercise's text as the database holds it. */
export function storedWrittenText(studio: TestStudio, day: BookedDay): string {
  const { ydoc } = studio.docStore.load(collabDocName(day.sessionId, 'written'));
  const text = plainText(ydoc.getXmlFragment(WRITTEN_FRAGMENT));
  ydoc.destroy();
  return text;
}
