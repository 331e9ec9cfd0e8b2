// Equalities monitoring (issue 14): the voluntary questionnaire a candidate is asked once, and
// what an analyst reads of it — only in aggregate. Every question can be answered "Prefer not to
// say", and the whole questionnaire can be declined.
import type { z } from 'zod';
import type { EqualitiesAnswersSchema, EqualitiesSubmissionSchema } from './equalities-schemas.ts';
import type { AnalyticsPanel, DifResult, SubgroupsResult } from './analytics.ts';

export const PREFER_NOT_TO_SAY = 'preferNotToSay';

export const AGE_BANDS = ['16-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const;
export const SEXES = ['female', 'male'] as const;
export const YES_NO = ['yes', 'no'] as const;

/** The five high-level ethnic groups of the 2021 Census (England and Wales) and their 19 categories. */
export const ETHNIC_GROUPS = [
  {
    id: 'asian',
    label: 'Asian, Asian British or Asian Welsh',
    categories: [
      { id: 'bangladeshi', label: 'Bangladeshi' },
      { id: 'chinese', label: 'Chinese' },
      { id: 'indian', label: 'Indian' },
      { id: 'pakistani', label: 'Pakistani' },
      { id: 'other-asian', label: 'Any other Asian background' },
    ],
  },
  {
    id: 'black',
    label: 'Black, Black British, Black Welsh, Caribbean or African',
    categories: [
      { id: 'african', label: 'African' },
      { id: 'caribbean', label: 'Caribbean' },
      { id: 'other-black', label: 'Any other Black, Black British or Caribbean background' },
    ],
  },
  {
    id: 'mixed',
    label: 'Mixed or Multiple ethnic groups',
    categories: [
      { id: 'white-asian', label: 'White and Asian' },
      { id: 'white-black-african', label: 'White and Black African' },
      { id: 'white-black-caribbean', label: 'White and Black Caribbean' },
      { id: 'other-mixed', label: 'Any other Mixed or Multiple ethnic background' },
    ],
  },
  {
    id: 'white',
    label: 'White',
    categories: [
      { id: 'white-british', label: 'English, Welsh, Scottish, Northern Irish or British' },
      { id: 'irish', label: 'Irish' },
      { id: 'gypsy-irish-traveller', label: 'Gypsy or Irish Traveller' },
      { id: 'roma', label: 'Roma' },
      { id: 'other-white', label: 'Any other White background' },
    ],
  },
  {
    id: 'other',
    label: 'Other ethnic group',
    categories: [
      { id: 'arab', label: 'Arab' },
      { id: 'any-other', label: 'Any other ethnic group' },
    ],
  },
] as const;

export type EthnicGroupId = (typeof ETHNIC_GROUPS)[number]['id'];
export type EthnicityId = (typeof ETHNIC_GROUPS)[number]['categories'][number]['id'];
export const ETHNICITIES = ETHNIC_GROUPS.flatMap((g) => g.categories.map((c) => c.id)) as [EthnicityId, ...EthnicityId[]];

/** The high-level group of a detailed category. */
export function ethnicGroupOf(ethnicity: EthnicityId): EthnicGroupId {
  return ETHNIC_GROUPS.find((g) => (g.categories as ReadonlyArray<{ id: string }>).some((c) => c.id === ethnicity))!.id;
}
export type EqualitiesAnswers = z.infer<typeof EqualitiesAnswersSchema>;

export const DISABILITY_QUESTION =
  'Do you have a physical or mental impairment, lasting or expected to last 12 months or more, that has a substantial adverse effect on your ability to carry out normal day-to-day activities?';
export type EqualitiesSubmission = z.infer<typeof EqualitiesSubmissionSchema>;

/** GET /api/equalities/mine: the candidate's own questionnaire (nobody else's). */
export type MyEqualities = { state: 'unasked' } | { state: 'declined'; at: string } | { state: 'answered'; at: string; answers: EqualitiesAnswers };

/** The characteristics analysed, in the order the panel shows them. */
export const CHARACTERISTICS = ['ageBand', 'sex', 'ethnicGroup', 'ethnicity', 'disability', 'firstLanguageEnglish'] as const;
export type Characteristic = (typeof CHARACTERISTICS)[number];
export const CHARACTERISTIC_LABELS: Record<Characteristic, string> = {
  ageBand: 'Age band',
  sex: 'Sex',
  ethnicGroup: 'Ethnic group',
  ethnicity: 'Ethnicity (detailed)',
  disability: 'Disability',
  firstLanguageEnglish: 'First language English',
};

export interface EqualitiesDif {
  characteristic: Characteristic;
  /** The largest group; every other stated group is pooled as the focal group. */
  reference: string | null;
  focal: string[];
  /** Per domain; `insufficient` names the domains the data cannot test, and why. */
  dif: AnalyticsPanel<DifResult & { insufficient: Array<{ item: string; reason: string }> }>;
}

/** GET /api/analytics/equalities: aggregates only — no candidate, no row, no group under 10 in numbers. */
export interface EqualitiesReport {
  from: string | null;
  to: string | null;
  /** How the DIF items pass and are matched, in a sentence for the page. */
  method: string;
  outcomes: AnalyticsPanel<SubgroupsResult>;
  dif: EqualitiesDif[];
  /** Domain titles by id ("7. Analysis, decision-making, planning and review"). */
  itemTitles: Record<string, string>;
}

/** A group's words on the page. */
export function groupLabel(characteristic: Characteristic, group: string): string {
  if (characteristic === 'ethnicGroup') return ETHNIC_GROUPS.find((g) => g.id === group)?.label ?? group;
  if (characteristic === 'ethnicity') {
    for (const g of ETHNIC_GROUPS) for (const c of g.categories) if (c.id === group) return `${g.label}: ${c.label}`;
    return group;
  }
  if (characteristic === 'sex') return group === 'female' ? 'Female' : group === 'male' ? 'Male' : group;
  if (characteristic === 'disability') return group === 'yes' ? 'Disabled' : group === 'no' ? 'Not disabled' : group;
  if (characteristic === 'firstLanguageEnglish') return group === 'yes' ? 'English' : group === 'no' ? 'Another language' : group;
  return group;
}
