// `npm run analyse -- <analysis> <file.csv> [options]`: one analysis of one CSV file. Stdout
// carries the JSON result and nothing else (numbers at full double precision); a refusal is
// one line on stderr and exit code 2.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ANALYSES } from './analyses.ts';
import type { Analysis } from './analysis.ts';
import { AnalysisInputError, readCsv } from './input.ts';

export interface CliOutcome {
  code: 0 | 2;
  stdout: string;
  stderr: string;
}

function usage(analyses: readonly Analysis[]): string {
  const lines = analyses.map((a) => {
    const options = Object.entries(a.options)
      .map(([name, o]) => (o.type === 'boolean' ? `[--${name}]` : `[--${name} VALUE]`))
      .join(' ');
    return `  ${a.name} FILE.csv ${options}\n      ${a.summary}\n      columns: ${a.columns.join(',')}`;
  });
  return `usage: npm run analyse -- <analysis> <file.csv> [options]\n\nanalyses:\n${lines.join('\n')}\n`;
}

/** The CLI without process I/O (tests call this; main() below wires it to the process). */
export function runCli(argv: readonly string[], readFile: (file: string) => string, analyses: readonly Analysis[] = ANALYSES): CliOutcome {
  const refuse = (message: string): CliOutcome => ({ code: 2, stdout: '', stderr: `analyse: ${message}\n` });
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    return name ? { code: 0, stdout: '', stderr: usage(analyses) } : { code: 2, stdout: '', stderr: usage(analyses) };
  }
  const analysis = analyses.find((a) => a.name === name);
  if (!analysis) return refuse(`unknown analysis "${name}" (one of: ${analyses.map((a) => a.name).join(', ')})`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...rest], options: analysis.options, allowPositionals: true, strict: true });
  } catch (error) {
    return refuse((error as Error).message);
  }
  if (parsed.positionals.length !== 1) return refuse(`${name} takes exactly one CSV file (got ${parsed.positionals.length})`);
  const file = parsed.positionals[0]!;
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    return refuse(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const options = parsed.values as Record<string, string | boolean | undefined>;
    const rows = readCsv(text, analysis.columnsFor?.(options) ?? analysis.columns);
    const result = analysis.run(rows, options);
    // JSON.stringify writes the shortest text that reads back to the same double: full precision.
    return { code: 0, stdout: `${JSON.stringify(result)}\n`, stderr: '' };
  } catch (error) {
    if (error instanceof AnalysisInputError) return refuse(`${file}: ${error.message}`);
    throw error;
  }
}

function main(): void {
  const outcome = runCli(process.argv.slice(2), (file) => fs.readFileSync(file, 'utf8'));
  process.stdout.write(outcome.stdout);
  process.stderr.write(outcome.stderr);
  process.exitCode = outcome.code;
}

if (import.meta.main) main();
