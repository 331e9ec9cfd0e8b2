// The studio's statements are written once, in SQLite's dialect kept to what PostgreSQL also
// understands. What still differs is rewritten here, outside string literals, quoted names and
// comments: parameters (`?` and `?NNN` become `$N`, numbered as SQLite numbers them) and
// instr(haystack, needle), which PostgreSQL calls strpos with the same arguments.

const FUNCTION_NAMES: Record<string, string> = { instr: 'strpos' };

export function toPostgres(sql: string): string {
  let out = '';
  let highest = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      const digits = /^\d+/.exec(sql.slice(i + 1))?.[0] ?? '';
      // SQLite: a bare `?` takes the number after the highest one used so far.
      const n = digits ? Number(digits) : highest + 1;
      highest = Math.max(highest, n);
      out += `$${n}`;
      i += 1 + digits.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))![0];
      const renamed = FUNCTION_NAMES[word.toLowerCase()];
      out += renamed && sql[i + word.length] === '(' ? renamed : word;
      i += word.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the literal or quoted name that opens at `start` (a doubled quote escapes). */
function closingQuote(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}
