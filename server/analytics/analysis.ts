// What the CLI (and the studio) needs to know of one analysis: its name, the CSV columns it
// reads, its options, and a pure function from the parsed rows and options to its JSON result.
import type { ParseArgsConfig } from 'node:util';
import type { CsvRow } from './input.ts';

export type OptionValues = Record<string, string | boolean | undefined>;

export interface Analysis<Result = unknown> {
  name: string;
  /** One line for `npm run analyse -- --help`. */
  summary: string;
  columns: readonly string[];
  /** The columns a run with these options reads, when an option adds some (default: columns). */
  columnsFor?(options: OptionValues): readonly string[];
  options: NonNullable<ParseArgsConfig['options']>;
  /** Throws AnalysisInputError for data it cannot analyse (naming the row and column where it can). */
  run(rows: CsvRow[], options: OptionValues): Result;
}
