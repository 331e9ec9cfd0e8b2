// What this participant may read about the day's scenarios: the session overview (refetched
// whenever the day moves on) and the scenario texts (markdown), fetched over HTTP with the
// participant's cookie. The server decides what each role may read; this only asks.
import { ParticipantApi } from './participant-api.ts';
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

  readonly #api: ParticipantApi;

  constructor(participantId: string, sessionId: string) {
    this.participantId = participantId;
    this.sessionId = sessionId;
    this.#api = new ParticipantApi(participantId);
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
    const path = `/sessions/${encodeURIComponent(this.sessionId)}/overview`;
    const result = await this.#api.get<SessionOverview>(path);
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
    const path = `/sessions/${encodeURIComponent(this.sessionId)}/scenarios/${number}/${kind}`;
    const pending = this.#api.get<{ markdown: string }>(path).then(
      (r): ContentResult => (r.ok ? { ok: true, markdown: r.data.markdown } : { ok: false, status: r.status, message: r.message }),
    );
    this.#texts.set(key, pending);
    // Keep only successes: a refusal now may be allowed after the next phase change.
    void pending.then((r) => {
      if (!r.ok && this.#texts.get(key) === pending) this.#texts.delete(key);
    });
    return pending;
  }


}
