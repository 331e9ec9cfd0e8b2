// Evidence notes out of a rubric document, with the observers' names (for playback and moderation).
import type { EvidenceNoteView } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { submittedKey } from '../../shared/rubric.ts';
import { EvidenceNoteSchema } from '../../shared/rubric-schemas.ts';
import type { RubricView } from './rubric-view.ts';

/**
 * `viewer`: an observer or the lead observer reads their own notes and those of submitted
 * sheets only: independent scoring means no scorer receives a byte of another's sheet before
 * it is submitted, over HTTP either (found by the fuzzer, seed 2). Others read every note.
 */
export function readEvidenceNotes(rubric: RubricView, participants: Participant[], viewer?: Participant): EvidenceNoteView[] {
  const names = new Map(participants.map((p) => [p.id, p.displayName]));
  const scorer = viewer?.role === 'observer' || viewer?.role === 'leadObserver';
  const submitted = rubric.getMap('submitted');
  const notes: EvidenceNoteView[] = [];
  for (const [key, value] of rubric.getMap('notes').entries()) {
    const parsed = EvidenceNoteSchema.safeParse(value);
    if (!parsed.success) continue;
    const observerId = key.split('|')[0] ?? '';
    if (scorer && observerId !== viewer.id && submitted.get(submittedKey(observerId, parsed.data.scenario)) === undefined) continue;
    notes.push({ observerId, observerName: names.get(observerId) ?? 'Observer', ...parsed.data });
  }
  return notes.sort((a, b) => (String(a.scenario) === String(b.scenario) ? a.atMs - b.atMs : String(a.scenario).localeCompare(String(b.scenario))));
}
