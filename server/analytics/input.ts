// The analyses' input: a CSV file with a fixed header, read into rows that remember their line
// number, so that every refusal names the row and the column it is about.
import { parse } from 'csv-parse/sync';

/** Bad input: one clear line for the psychometrician (the CLI exits with code 2). */
export class AnalysisInputError extends Error {
  readonly line: number | undefined;
  readonly column: string | undefined;

  constructor(message: string, where: { line?: number; column?: string } = {}) {
    const place = [where.line !== undefined ? `row ${where.line}` : '', where.column !== undefined ? `column "${where.column}"` : ''].filter(Boolean).join(', ');
    super(place ? `${place}: ${message}` : message);
    this.name = 'AnalysisInputError';
    this.line = where.line;
    this.column = where.column;
  }
}

export interface CsvRow {
  /** The file's line number of this record (the header is line 1). */
  line: number;
  cells: Readonly<Record<string, string>>;
}

/**
 * Parses `text` as CSV whose header must contain every one of `columns` (extra columns are
 * ignored, order is free). Blank lines are skipped; a record with the wrong number of fields
 * is refused with its line number.
 */
export function readCsv(text: string, columns: readonly string[]): CsvRow[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (error) {
    const e = error as { lines?: number; message?: string };
    throw new AnalysisInputError(`not valid CSV (${e.message ?? String(error)})`, e.lines !== undefined ? { line: e.lines } : {});
  }
  const header = records[0]?.record;
  if (!header) throw new AnalysisInputError(`the file is empty: expected a header "${columns.join(',')}"`, { line: 1 });
  const names = header.map((h) => h.toLowerCase());
  const missing = columns.filter((c) => !names.includes(c));
  if (missing.length > 0) {
    throw new AnalysisInputError(`the header lacks ${missing.map((c) => `"${c}"`).join(', ')} (expected "${columns.join(',')}")`, { line: 1, column: missing[0] });
  }
  const rows: CsvRow[] = [];
  for (const { record, info } of records.slice(1)) {
    // info.lines is the line the record ends on: its own line unless a quoted cell spans lines.
    const line = info.lines;
    if (record.length !== header.length) {
      throw new AnalysisInputError(`has ${record.length} fields where the header has ${header.length}`, { line });
    }
    const cells: Record<string, string> = {};
    for (const column of columns) cells[column] = record[names.indexOf(column)]!;
    rows.push({ line, cells });
  }
  if (rows.length === 0) throw new AnalysisInputError('the file has a header but no rows', { line: 2 });
  return rows;
}

/** A non-empty label (candidate, rater, item...). */
export function labelCell(row: CsvRow, column: string): string {
  const value = row.cells[column] ?? '';
  if (value === '') throw new AnalysisInputError('is empty', { line: row.line, column });
  return value;
}

/** A finite number, optionally bounded. */
export function numberCell(row: CsvRow, column: string, bounds: { min?: number; max?: number; integer?: boolean } = {}): number {
  const raw = row.cells[column] ?? '';
  const value = raw === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value)) throw new AnalysisInputError(`"${raw}" is not a number`, { line: row.line, column });
  if (bounds.integer && !Number.isInteger(value)) throw new AnalysisInputError(`"${raw}" is not a whole number`, { line: row.line, column });
  if (bounds.min !== undefined && value < bounds.min) throw new AnalysisInputError(`${value} is below ${bounds.min}`, { line: row.line, column });
  if (bounds.max !== undefined && value > bounds.max) throw new AnalysisInputError(`${value} is above ${bounds.max}`, { line: row.line, column });
  return value;
}

/** 0 or 1. */
export function binaryCell(row: CsvRow, column: string): 0 | 1 {
  const raw = row.cells[column] ?? '';
  if (raw === '0') return 0;
  if (raw === '1') return 1;
  throw new AnalysisInputError(`"${raw}" is not 0 or 1`, { line: row.line, column });
}

/** One of the given words. */
export function choiceCell<T extends string>(row: CsvRow, column: string, choices: readonly T[]): T {
  const raw = row.cells[column] ?? '';
  const found = choices.find((c) => c === raw.toLowerCase());
  if (!found) throw new AnalysisInputError(`"${raw}" is not one of ${choices.join(', ')}`, { line: row.line, column });
  return found;
}
