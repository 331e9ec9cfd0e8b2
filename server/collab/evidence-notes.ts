// Evidence notes out of a rubric document, with the observers' names (for playback and moderation).
import type { EvidenceNoteView } from '../../shared/api.ts';
import type { Participant } from '../../shared/domain.ts';
import { EvidenceNoteSchema } from '../../shared/rubric.ts';
import type { RubricView } from './rubric-view.ts';

export function readEvidenceNotes(rubric: RubricView, participants: Participant[]): EvidenceNoteView[] {
  const names = new Map(participants.map((p) => [p.id, p.displayName]));
  const notes: EvidenceNoteView[] = [];
  for (const [key, value] of rubric.getMap('notes').entries()) {
    const parsed = EvidenceNoteSchema.safeParse(value);
    if (!parsed.success) continue;
    const observerId = key.split('|')[0] ?? '';
    notes.push({ observerId, observerName: names.get(observerId) ?? 'Observer', ...parsed.data });
  }
  return notes.sort((a, b) => (String(a.scenario) === String(b.scenario) ? a.atMs - b.atMs : String(a.scenario).localeCompare(String(b.scenario))));
}
