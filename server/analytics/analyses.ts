// Every analysis `npm run analyse` knows, by name.
import type { Analysis } from './analysis.ts';
import { difAnalysis } from './dif.ts';
import { subgroupsAnalysis } from './subgroups.ts';

export const ANALYSES: readonly Analysis[] = [
  difAnalysis,
  subgroupsAnalysis,
];
