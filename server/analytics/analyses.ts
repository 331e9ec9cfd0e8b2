// Every analysis `npm run analyse` knows, by name.
import type { Analysis } from './analysis.ts';
import { ANGOFF } from './angoff.ts';
import { BRM } from './brm.ts';
import { difAnalysis } from './dif.ts';
import { reliabilityAnalysis } from './reliability.ts';
import { STRINGENCY } from './stringency.ts';
import { subgroupsAnalysis } from './subgroups.ts';

export const ANALYSES: readonly Analysis[] = [
  reliabilityAnalysis,
  STRINGENCY,
  BRM,
  ANGOFF,
  difAnalysis,
  subgroupsAnalysis,
];
