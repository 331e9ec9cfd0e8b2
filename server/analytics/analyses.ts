// Every analysis `npm run analyse` knows, by name.
import type { Analysis } from './analysis.ts';

export const ANALYSES: readonly Analysis[] = [];
