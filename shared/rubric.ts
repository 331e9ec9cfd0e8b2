// The shared rubric: versioned scoring frameworks (data, swappable) and the layout of the
// rubric's Yjs documents, which observers edit (shared/collab.ts names them).
//
// Each observer scores in their own sheets, one per scenario, `session/<id>/sheet/<observerId>/<scenario>`;
// only that observer writes it, and nobody else scoring the session receives it before it is
// submitted (independent scoring); once submitted it is read-only evidence. Top-level Y.Maps:
//   ratings    "<observerId>|<scenario>|<domainId>" → number       the observer's domain rating (1–4)
//   global     "<observerId>|<scenario>"            → number       the observer's overall judgement (1–7)
//   submitted  "<observerId>|<scenario>"            → number       when the observer submitted (epoch ms)
//   notes      "<observerId>|<noteId>"              → EvidenceNote an evidence note of this scenario
// The lead observer's document, `session/<id>/rubric`, which every scorer reads:
//   agreed     "<scenario>|<domainId>"              → AgreedRating
//   feedback   "<scenario|overall>|strengths|development" → string
// The server checks every update against this layout before applying it
// (server/collab/rubric-guard.ts).
import type { z } from 'zod';
import type { EvidenceNoteSchema, AgreedRatingSchema } from './rubric-schemas.ts';

export interface RatingLevel {
  value: number;
  label: string;
  descriptor: string;
}

export interface Framework {
  id: string;
  version: number;
  name: string;
  /** In force until (ISO date), where known: frameworks are replaced, not edited. */
  inForceUntil: string | null;
  domains: Array<{ id: string; number: number; title: string }>;
  /** Scored by default for this level (typically the behavioural statements). */
  defaultScoredDomains: string[];
  scale: RatingLevel[];
  globalScale: RatingLevel[];
  /** A separate scale for the reflective conversation. */
  reflectionScale: RatingLevel[];
}

/** The domain scale's "Meets the standard": below it, a rating is something to develop. */
export const MEETS_STANDARD = 3;

const DOMAIN_SCALE: RatingLevel[] = [
  { value: 1, label: 'Clear fail', descriptor: 'Little or no evidence of the standard; practice that could leave a child at risk.' },
  { value: 2, label: 'Borderline', descriptor: 'Some evidence, but inconsistent or incomplete; not yet reliably at the standard.' },
  { value: 3, label: 'Meets the standard', descriptor: 'Consistent evidence of safe, competent practice at the expected level.' },
  { value: 4, label: 'Exceeds', descriptor: 'Strong, well-judged practice beyond what the standard expects.' },
];

/** The pilot's overall rating: 1–7, where 3 or below is a fail. */
const GLOBAL_SCALE: RatingLevel[] = [
  { value: 1, label: '1 — Very weak', descriptor: 'Far below the standard.' },
  { value: 2, label: '2 — Weak', descriptor: 'Below the standard.' },
  { value: 3, label: '3 — Borderline fail', descriptor: 'Close to, but below, the standard.' },
  { value: 4, label: '4 — Borderline pass', descriptor: 'Just meets the standard.' },
  { value: 5, label: '5 — Sound', descriptor: 'Meets the standard securely.' },
  { value: 6, label: '6 — Strong', descriptor: 'Above the standard.' },
  { value: 7, label: '7 — Excellent', descriptor: 'Well above the standard.' },
];

const REFLECTION_SCALE: RatingLevel[] = [
  { value: 1, label: 'Limited', descriptor: 'Describes events; little analysis or insight into own practice.' },
  { value: 2, label: 'Developing', descriptor: 'Some analysis; hypotheses are thin or not revised in the light of evidence.' },
  { value: 3, label: 'Reflective', descriptor: 'Analyses own practice, tests hypotheses against what was heard.' },
  { value: 4, label: 'Highly reflective', descriptor: 'Critical, self-aware analysis; alternative hypotheses weighed and linked to risk.' },
];

/** The lead observer's prompts for the reflective conversation after the last scenario: it
 *  explores the candidate's hypotheses (REFLECTION_SCALE is what the answers are rated on). */
export const REFLECTIVE_PROMPTS: readonly string[] = [
  'Before you went in, what did you think might be happening for this child and family? What were your hypotheses?',
  'What did you see or hear that supported those hypotheses, and what challenged them?',
  'Did your thinking change during the conversation? What did you do differently because of it?',
  'What other explanations could there be for what you heard? How would you test them?',
  'What risks and what strengths would you record now, and how sure are you of each?',
  'What would you do next, and why? Who else would you involve?',
  'How did you keep the child’s experience and voice at the centre of the conversation?',
  'If you could go back into the room, what would you do differently?',
];

export const KSS_PRACTITIONER: Framework = {
  id: 'kss-practitioner',
  version: 1,
  name: 'Knowledge and Skills Statement — child and family practitioners',
  inForceUntil: '2027-03-31',
  domains: [
    'Relationships and effective direct work',
    'Communication',
    'Child development',
    'Adult mental ill health, substance misuse, domestic abuse, physical ill health and disability',
    'Abuse and neglect of children',
    'Child and family assessment',
    'Analysis, decision-making, planning and review',
    'The law and the family and youth justice systems',
    'The role of supervision',
    'Organisational context',
  ].map((title, i) => ({ id: `kss-${i + 1}`, number: i + 1, title })),
  defaultScoredDomains: ['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9'],
  scale: DOMAIN_SCALE,
  globalScale: GLOBAL_SCALE,
  reflectionScale: REFLECTION_SCALE,
};

export const KSS_PRACTICE_SUPERVISOR: Framework = {
  id: 'kss-practice-supervisor',
  version: 1,
  name: 'Knowledge and Skills Statement — practice supervisors',
  inForceUntil: null,
  domains: [
    'Promote and govern excellent practice',
    'Developing excellent practitioners',
    'Shaping and influencing the practice system',
    'Effective use of power and authority',
    'Confident analysis and decision-making',
    'Purposeful and effective social work',
    'Emotionally intelligent practice supervision',
    'Performance management and improvement',
  ].map((title, i) => ({ id: `kss-ps-${i + 1}`, number: i + 1, title })),
  defaultScoredDomains: ['kss-ps-2', 'kss-ps-4', 'kss-ps-5', 'kss-ps-6', 'kss-ps-7'],
  scale: DOMAIN_SCALE,
  globalScale: GLOBAL_SCALE,
  reflectionScale: REFLECTION_SCALE,
};

export const FRAMEWORKS: Framework[] = [KSS_PRACTITIONER, KSS_PRACTICE_SUPERVISOR];

export function frameworkFor(level: 'practitioner' | 'supervisor'): Framework {
  return level === 'practitioner' ? KSS_PRACTITIONER : KSS_PRACTICE_SUPERVISOR;
}

/** The reflective conversation's single rated item. */
export const REFLECTION_ITEM_ID = 'reflection';

/** Every item id a rubric of this level may rate: the framework's domains and the reflection. */
const ITEM_IDS = new Map<'practitioner' | 'supervisor', ReadonlySet<string>>();

export function rubricItemIds(level: 'practitioner' | 'supervisor'): ReadonlySet<string> {
  let ids = ITEM_IDS.get(level);
  if (!ids) {
    ids = new Set([...frameworkFor(level).domains.map((d) => d.id), REFLECTION_ITEM_ID]);
    ITEM_IDS.set(level, ids);
  }
  return ids;
}

/** Ratings further apart than this are highlighted as a disagreement. */
export const DEFAULT_DISAGREEMENT_THRESHOLD = 1;

// ---- the document's maps and keys ----

export const RUBRIC_MAPS = ['ratings', 'global', 'submitted', 'notes', 'agreed', 'feedback'] as const;
export type RubricMap = (typeof RUBRIC_MAPS)[number];

/** Sections of an observer's sheet. */
export const SHEET_MAPS: ReadonlySet<RubricMap> = new Set(['ratings', 'global', 'submitted', 'notes']);
/** Sections of the lead observer's document. */
export const LEAD_MAPS: ReadonlySet<RubricMap> = new Set(['agreed', 'feedback']);

/** Server-enforced bounds of the rubric documents. */
export const RUBRIC_LIMITS = {
  maxKeyChars: 200,
  /** Entries in one section of one document (notes are the many ones). */
  maxEntriesPerSection: 500,
  maxFeedbackChars: 20_000,
} as const;

/** Scenario key: 1..3 for scenarios, "reflective" for the reflective conversation. */
export type ScenarioKey = number | 'reflective';

export const ratingKey = (observerId: string, scenario: ScenarioKey, domainId: string): string => `${observerId}|${scenario}|${domainId}`;
export const globalKey = (observerId: string, scenario: ScenarioKey): string => `${observerId}|${scenario}`;
export const submittedKey = globalKey;
export const noteKey = (observerId: string, noteId: string): string => `${observerId}|${noteId}`;
export const agreedKey = (scenario: ScenarioKey, domainId: string): string => `${scenario}|${domainId}`;
export const feedbackKey = (scenario: ScenarioKey | 'overall', part: 'strengths' | 'development'): string => `${scenario}|${part}`;
export type EvidenceNote = z.infer<typeof EvidenceNoteSchema>;
export type AgreedRating = z.infer<typeof AgreedRatingSchema>;

/** mm:ss of a scenario clock. */
export function formatScenarioClock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
