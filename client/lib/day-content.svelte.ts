// What this participant may read about the day's scenarios: the session overview (refetched
// whenever the day moves on) and the scenario texts (markdown), fetched over HTTP with the
// participant's cookie. The server decides what each role may read; this only asks.
import type { ApiError } from '../../shared/api.ts';
import type { ContentKind, ScenarioOverview, SessionOverview } from '../../shared/assessment.ts';

export type ContentResult = { ok: true; markdown: string } | { ok: false; status: number; message: string };

export class DayContent {
  readonly participantId: string;
  readonly sessionId: string;

  #overview = $state.raw<SessionOverview | null>(null);
  #overviewError = $state<string | null>(null);
  #overviewSeq = 0;
  /** Successful texts only: scenario content does not change during a day, access does. */
  #texts = new Map<string, Promise<ContentResult>>();

  constructor(participantId: string, sessionId: string) {
    this.participantId = participantId;
    this.sessionId = sessionId;
  }

  get overview(): SessionOverview | null {
    return this.#overview;
  }
  get overviewError(): string | null {
    return this.#overviewError;
  }

  scenario(number: number | null): ScenarioOverview | null {
    if (number === null) return null;
    return this.#overview?.scenarios.find((s) => s.number === number) ?? null;
  }

  /** Fetches the overview again (call when the day state changes). */
  async refresh(): Promise<void> {
    const seq = ++this.#overviewSeq;
    const path = `/api/sessions/${encodeURIComponent(this.sessionId)}/overview`;
    const result = await this.#getJson<SessionOverview>(path);
    if (seq !== this.#overviewSeq) return;
    if (result.ok) {
      this.#overview = result.data;
      this.#overviewError = null;
    } else {
      this.#overviewError = result.message;
    }
  }

  /** One scenario text as markdown, or why it cannot be read (403 not yet / not yours, 404 none). */
  text(number: number, kind: ContentKind): Promise<ContentResult> {
    const key = `${number}/${kind}`;
    const cached = this.#texts.get(key);
    if (cached) return cached;
    const path = `/api/sessions/${encodeURIComponent(this.sessionId)}/scenarios/${number}/${kind}`;
    const pending = this.#getJson<{ markdown: string }>(path).then(
      (r): ContentResult => (r.ok ? { ok: true, markdown: r.data.markdown } : { ok: false, status: r.status, message: r.message }),
    );
    this.#texts.set(key, pending);
    // Keep only successes: a refusal now may be allowed after the next phase change.
    void pending.then((r) => {
      if (!r.ok && this.#texts.get(key) === pending) this.#texts.delete(key);
    });
    return pending;
  }

  async #getJson<T>(path: string): Promise<{ ok: true; data: T } | { ok: false; status: number; message: string }> {
    const url = `${path}?participantId=${encodeURIComponent(this.participantId)}`;
    let response: Response;
    try {
      response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    } catch {
      return { ok: false, status: 0, message: 'Could not reach SimStudio. Check your internet connection.' };
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => null)) as ApiError | null;
      return { ok: false, status: response.status, message: body?.error?.message ?? `The server answered ${response.status}.` };
    }
    try {
      return { ok: true, data: (await response.json()) as T };
    } catch {
      return { ok: false, status: response.status, message: 'The server sent an unreadable answer.' };
    }
  }
}
