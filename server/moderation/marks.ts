// The marks of one session as moderation sees them: what is marked (from the session's
// template and retake), every observer's rating and the agreed rating (from the rubric
// document), the moderator's decisions (from the database), and the final mark.
import type { RubricView } from '../collab/rubric-view.ts';
import { assessedElements, resultRules, type Template } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import {
  elementOf,
  elementResult,
  WRITTEN_CRITERIA,
  type Element,
  type ElementResult,
  type MarkRow,
  type Part,
} from '../../shared/moderation.ts';
import {
  agreedKey,
  DEFAULT_DISAGREEMENT_THRESHOLD,
  feedbackKey,
  frameworkFor,
  ratingKey,
} from '../../shared/rubric.ts';
import { AgreedRatingSchema } from '../../shared/rubric-schemas.ts';

/** The reflective conversation's single item (the scoring panel stores it under this id). */
export const REFLECTION_ITEM_ID = 'reflection';

export interface MarkItem {
  part: Part;
  itemId: string;
  itemTitle: string;
}

export interface ModeratedMark {
  part: Part;
  itemId: string;
  rating: number;
  rationale: string;
  byName: string;
  at: string;
}

/** Everything a session marks, in report order. */
export function markItems(template: Template, retakeOf: Element | null): MarkItem[] {
  const elements = assessedElements(template, retakeOf);
  const items: MarkItem[] = [];
  if (elements.includes('observation')) {
    const framework = frameworkFor(template.level);
    const domains = (template.scoredDomains ?? framework.defaultScoredDomains)
      .map((id) => framework.domains.find((d) => d.id === id))
      .filter((d) => d !== undefined);
    for (let scenario = 1; scenario <= template.scenarioCount; scenario++) {
      for (const d of domains) items.push({ part: scenario as Part, itemId: d.id, itemTitle: `${d.number}. ${d.title}` });
    }
    if (template.phases.some((p) => p.kind === 'reflectiveConversation')) {
      items.push({ part: 'reflective', itemId: REFLECTION_ITEM_ID, itemTitle: 'Reflection' });
    }
  }
  if (elements.includes('written')) {
    for (const c of WRITTEN_CRITERIA) items.push({ part: 'written', itemId: c.id, itemTitle: `${c.number}. ${c.title}` });
  }
  return items;
}

const isRating = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4;

/** Builds the rows: observers' ratings and the agreed rating from the rubric, the moderator's marks over them. */
export function markRows(items: MarkItem[], rubric: RubricView, participants: Participant[], moderated: ModeratedMark[]): MarkRow[] {
  const observers = participants.filter((p) => p.role === 'leadObserver' || p.role === 'observer');
  const ratings = rubric.getMap('ratings');
  const agreedMap = rubric.getMap('agreed');
  const decided = new Map(moderated.map((m) => [`${m.part}|${m.itemId}`, m]));
  return items.map((item) => {
    const onRubric = item.part !== 'written';
    const observerRatings = onRubric
      ? observers.map((o) => {
          const value = ratings.get(ratingKey(o.id, item.part as number | 'reflective', item.itemId));
          return { observerId: o.id, observerName: o.displayName, lead: o.role === 'leadObserver', rating: isRating(value) ? value : null };
        })
      : [];
    const agreedParsed = onRubric ? AgreedRatingSchema.safeParse(agreedMap.get(agreedKey(item.part as number | 'reflective', item.itemId))) : null;
    const agreed = agreedParsed?.success ? agreedParsed.data : null;
    const mod = decided.get(`${item.part}|${item.itemId}`);
    const given = observerRatings.map((r) => r.rating).filter((r): r is number => r !== null);
    return {
      ...item,
      observers: observerRatings,
      agreed,
      moderated: mod ? { rating: mod.rating, rationale: mod.rationale, byName: mod.byName, at: mod.at } : null,
      final: mod?.rating ?? agreed?.rating ?? null,
      disagreement: given.length >= 2 && Math.max(...given) - Math.min(...given) > DEFAULT_DISAGREEMENT_THRESHOLD,
    };
  });
}

/** Pass or fail per assessed element, from the rows' final marks and the template's pass marks. */
export function resultsFromRows(template: Template, retakeOf: Element | null, rows: MarkRow[]): ElementResult[] {
  const rules = resultRules(template);
  return assessedElements(template, retakeOf).map((element) =>
    elementResult(
      element,
      rows.filter((r) => elementOf(r.part) === element).map((r) => r.final),
      rules,
    ),
  );
}

/** The lead observer's overall narrative feedback. */
export function overallFeedback(rubric: RubricView): { strengths: string; development: string } {
  const feedback = rubric.getMap('feedback');
  const text = (key: string): string => {
    const value = feedback.get(key);
    return typeof value === 'string' ? value.trim() : '';
  };
  return { strengths: text(feedbackKey('overall', 'strengths')), development: text(feedbackKey('overall', 'development')) };
}

/** Observers' 1–7 global judgements per scenario. */
export function globalJudgements(rubric: RubricView, participants: Participant[]): Array<{ scenario: number; observerName: string; value: number }> {
  const names = new Map(participants.map((p) => [p.id, p.displayName]));
  const out: Array<{ scenario: number; observerName: string; value: number }> = [];
  for (const [key, value] of rubric.getMap('global').entries()) {
    const [observerId, scenario] = key.split('|');
    const n = Number(scenario);
    if (!observerId || !Number.isInteger(n) || !Number.isInteger(value)) continue;
    out.push({ scenario: n, observerName: names.get(observerId) ?? 'Observer', value: value as number });
  }
  return out.sort((a, b) => a.scenario - b.scenario || a.observerName.localeCompare(b.observerName));
}
