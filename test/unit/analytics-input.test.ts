// The analyses' CSV input and the CLI frame: every refusal is one line naming the row and the
// column, with exit code 2; stdout carries nothing but the result.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../server/analytics/cli.ts';
import { AnalysisInputError, binaryCell, choiceCell, numberCell, readCsv } from '../../server/analytics/input.ts';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AnalysisInputError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('readCsv', () => {
  it('reads the named columns in any order, ignores extra ones and blank lines, and keeps line numbers', () => {
    const rows = readCsv('score,extra,candidate\n3,x,c1\n\n"4",y,"c 2"\n', ['candidate', 'score']);
    expect(rows).toEqual([
      { line: 2, cells: { candidate: 'c1', score: '3' } },
      { line: 4, cells: { candidate: 'c 2', score: '4' } },
    ]);
  });

  it('accepts a byte-order mark and upper-case headers (as spreadsheets write them)', () => {
    expect(readCsv('\uFEFFCandidate,Score\nc1,3\n', ['candidate', 'score'])[0]!.cells).toEqual({ candidate: 'c1', score: '3' });
  });

  it('names a missing column, a short row, an empty file and a header without rows', () => {
    expect(refusal(() => readCsv('candidate,rater\nc1,r1\n', ['candidate', 'rater', 'score']))).toBe(
      'row 1, column "score": the header lacks "score" (expected "candidate,rater,score")',
    );
    expect(refusal(() => readCsv('candidate,score\nc1,3\nc2\n', ['candidate', 'score']))).toBe('row 3: has 1 fields where the header has 2');
    expect(refusal(() => readCsv('', ['candidate']))).toMatch(/^row 1: the file is empty/);
    expect(refusal(() => readCsv('candidate\n', ['candidate']))).toBe('row 2: the file has a header but no rows');
    expect(refusal(() => readCsv('a,b\n"unclosed,1\n', ['a']))).toMatch(/not valid CSV/);
  });
});

describe('cells', () => {
  const row = { line: 7, cells: { score: 'four', pass: '2', group: 'Focal', half: '2.5' } };
  it('refuse what is not a number, not 0/1 or not one of the choices, naming row and column', () => {
    expect(refusal(() => numberCell(row, 'score'))).toBe('row 7, column "score": "four" is not a number');
    expect(refusal(() => numberCell(row, 'half', { integer: true }))).toBe('row 7, column "half": "2.5" is not a whole number');
    expect(refusal(() => numberCell(row, 'half', { max: 2 }))).toBe('row 7, column "half": 2.5 is above 2');
    expect(refusal(() => binaryCell(row, 'pass'))).toBe('row 7, column "pass": "2" is not 0 or 1');
    expect(choiceCell(row, 'group', ['reference', 'focal'] as const)).toBe('focal');
  });
});

describe('runCli', () => {
  const files: Record<string, string> = {};
  const read = (file: string): string => {
    const text = files[file];
    if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return text;
  };

  it('refuses an unknown analysis, a missing file and a missing argument with code 2 and nothing on stdout', () => {
    const unknown = runCli(['nonsense', 'x.csv'], read);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^analyse: unknown analysis "nonsense"/);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    const none = runCli([], read);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^usage: npm run analyse/);
  });
});
