// Words for the moderation page: ratings, element results, dates and audit details.
import type { RatingLevel } from '../../shared/rubric.ts';
import {
  ELEMENT_LABELS,
  partLabel,
  type Element,
  type ElementResult,
  type MarkRow,
  type ModerationView,
  type Outcome,
  type Part,
} from '../../shared/moderation.ts';
import { PartSchema } from '../../shared/moderation-schemas.ts';

/** "3 — Meets the standard" (just the number when the scale does not know it; "—" for none). */
export function ratingText(value: number | null | undefined, scale: readonly RatingLevel[]): string {
  if (value === null || value === undefined) return '—';
  const level = scale.find((l) => l.value === value);
  return level ? `${value} — ${level.label}` : String(value);
}

export function outcomeText(outcome: Outcome): string {
  return outcome === 'pass' ? 'pass' : 'fail';
}

/** "pass (3.05 / 2.75)", "incomplete (2 missing)", "carried over: pass"; null when not shown at all. */
export function resultText(result: ElementResult): string | null {
  if (!result.assessed) return result.carriedOver ? `carried over: ${outcomeText(result.carriedOver.outcome)}` : null;
  if (result.outcome === null || result.score === null) return `incomplete (${result.missing} missing)`;
  return `${outcomeText(result.outcome)} (${result.score.toFixed(2)} / ${result.passMark.toFixed(2)})`;
}

/** The results worth showing: every assessed element, and carried-over ones. */
export function shownResults(results: readonly ElementResult[]): ElementResult[] {
  return results.filter((r) => r.assessed || r.carriedOver !== null);
}

export function elementLabel(element: Element): string {
  return ELEMENT_LABELS[element];
}

/** Local date and time of an epoch-ms number or an ISO string ("—" when unknown). */
export function when(at: number | string | null | undefined): string {
  if (at === null || at === undefined || at === '') return '—';
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toLocaleString();
}

/** An inline mark form's state, kept per mark while it is open (and after a refusal). */
export interface MarkDraft {
  rating: number | '';
  rationale: string;
  error: string;
  saving: boolean;
}

export function markKey(row: Pick<MarkRow, 'part' | 'itemId'>): string {
  return `${String(row.part)}|${row.itemId}`;
}

/** Rows grouped by part, in the order the parts first appear. */
export function groupByPart(rows: readonly MarkRow[]): Array<{ part: Part; rows: MarkRow[] }> {
  const groups: Array<{ part: Part; rows: MarkRow[] }> = [];
  for (const row of rows) {
    const group = groups.find((g) => g.part === row.part);
    if (group) group.rows.push(row);
    else groups.push({ part: row.part, rows: [row] });
  }
  return groups;
}

// ---- audit details ----

const OLD_KEYS = ['old', 'from', 'previous', 'before'];
const NEW_KEYS = ['new', 'to', 'outcome', 'after'];
const REASON_KEYS = ['rationale', 'reasons'];
/** Kept out of the "other" lines: shown another way, or of no use to a reader. */
const HIDDEN_KEYS = new Set(['part', 'itemId', 'item', 'reviewId', 'reviewerParticipantId', 'oldSource']);

function firstKey(detail: Record<string, unknown>, keys: readonly string[]): string | undefined {
  return keys.find((key) => key in detail);
}

function plain(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k in ELEMENT_LABELS ? ELEMENT_LABELS[k as Element] : k}: ${plain(v)}`)
      .join(', ');
  }
  return JSON.stringify(value);
}

export interface AuditDetailText {
  /** "Scenario 1 · Communication", when the entry is about one mark. */
  where: string | null;
  /** "2 — Borderline → 3 — Meets the standard", when something changed from one value to another. */
  change: string | null;
  /** The rationale or reasons given. */
  rationale: string | null;
  /** Anything else in the detail, as "key: value" pairs. */
  other: string[];
}

/** The detail of an audit entry in words (mark changes: part and item, old → new, rationale). */
export function auditDetail(
  detail: Record<string, unknown>,
  rows: readonly MarkRow[],
  scaleFor: (part: Part) => readonly RatingLevel[],
): AuditDetailText {
  const used = new Set<string>();
  const part = PartSchema.safeParse(detail['part']);
  const itemId = detail['itemId'];
  let where: string | null = null;
  if (typeof itemId === 'string') {
    const row = rows.find((r) => r.itemId === itemId && (!part.success || r.part === part.data));
    where = [part.success ? partLabel(part.data) : null, row?.itemTitle ?? itemId].filter((s): s is string => !!s).join(' · ');
  } else if (typeof detail['item'] === 'string') {
    where = detail['item'];
  }
  const oldKey = firstKey(detail, OLD_KEYS);
  const newKey = firstKey(detail, NEW_KEYS);
  const isMark = typeof itemId === 'string';
  const scale = scaleFor(part.success ? part.data : 1);
  const asValue = (v: unknown): string => (isMark && typeof v === 'number' ? ratingText(v, scale) : plain(v));
  let change: string | null = null;
  if (oldKey !== undefined && newKey !== undefined) {
    change = `${asValue(detail[oldKey])} → ${asValue(detail[newKey])}`;
    used.add(oldKey).add(newKey);
  }
  const reasonKey = firstKey(detail, REASON_KEYS);
  const reason = reasonKey !== undefined ? detail[reasonKey] : undefined;
  const rationale = typeof reason === 'string' ? reason : null;
  if (rationale !== null && reasonKey) used.add(reasonKey);
  const other = Object.entries(detail)
    .filter(([k]) => !used.has(k) && !HIDDEN_KEYS.has(k))
    .map(([k, v]) => `${k}: ${plain(v)}`);
  return { where, change, rationale, other };
}

/** "moderation.markChanged" → "Mark changed", "review.opened" → "Review opened". */
export function actionLabel(action: string): string {
  const segments = action.split('.').filter((s) => s.length > 0);
  if (segments.length > 1 && segments[0] === 'moderation') segments.shift();
  const words = segments
    .join(' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[-_]/g, ' ')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What a coordinator can book after a result that stands: a retake of the one element not
 *  passed, a full retake when several were not, nothing when all passed (or before sign-off). */
export type RetakeChoice = { kind: 'element'; element: Element } | { kind: 'full' } | null;

export function retakeChoice(view: Pick<ModerationView, 'status' | 'signedOff'>): RetakeChoice {
  if (view.status !== 'moderated' || !view.signedOff) return null;
  const outcomes = Object.entries(view.signedOff.outcome) as Array<[Element, Outcome | undefined]>;
  const failed = outcomes.filter(([, o]) => o === 'fail').map(([e]) => e);
  if (failed.length > 1) return { kind: 'full' };
  const [element] = failed;
  if (!element || !outcomes.every(([e, o]) => e === element || o === 'pass')) return null;
  return { kind: 'element', element };
}

/** A server message as a sentence: capital first letter, full stop at the end. */
export function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  return `${text[0]!.toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? '' : '.'}`;
}
