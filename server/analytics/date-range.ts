// A filter's "YYYY-MM-DD" days (both included, UTC) as the [from, to) epoch-ms range the cohort
// is read over.
const DAY_MS = 86_400_000;

export function dayRange(q: { from?: string | undefined; to?: string | undefined }): { from?: number; to?: number } {
  return {
    ...(q.from ? { from: Date.parse(`${q.from}T00:00:00Z`) } : {}),
    ...(q.to ? { to: Date.parse(`${q.to}T00:00:00Z`) + DAY_MS } : {}),
  };
}
