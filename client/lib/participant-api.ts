// Calls to the studio's HTTP API as one participant: every call names the participant it
// acts as (`?participantId=`) and proves it with that participant's cookie (same origin).
// Failures come back as values with the server's plain-language message, never as throws.
import type { ApiError, MeResponse } from '../../shared/api.ts';

export type ApiResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; code: string; message: string };

/**
 * The server's refusal as a sentence for people: its messages name the field for API callers
 * ("rationale: a rationale is required: …"); people read "A rationale is required: …".
 */
export function plainMessage(raw: string): string {
  return raw
    .split('; ')
    .map((part) => {
      const text = part.replace(/^(?:[A-Za-z_$][\w$]*(?:\.[\w$]+)*|\(body\)): /, '').trim();
      if (!text) return '';
      const sentence = text[0]!.toUpperCase() + text.slice(1);
      return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
    })
    .filter(Boolean)
    .join(' ');
}

/** Calls as whoever the browser's cookies say (staff pages: the signed-in person). */
export class ApiClient {
  url(path: string): string {
    return `/api${path}`;
  }

  get<T>(path: string): Promise<ApiResult<T>> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<ApiResult<T>> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<ApiResult<T>> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<ApiResult<T>> {
    return this.request<T>('DELETE', path);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        method,
        credentials: 'same-origin',
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch {
      return {
        ok: false,
        status: 0,
        code: 'NETWORK',
        message: 'Could not reach SimStudio. Check your internet connection and try again.',
      };
    }
    if (!response.ok) {
      const payload = (await response.json().catch(() => null)) as ApiError | null;
      return {
        ok: false,
        status: response.status,
        code: payload?.error?.code ?? 'HTTP',
        message: payload?.error?.message ? plainMessage(payload.error.message) : `The server answered ${response.status}.`,
      };
    }
    if (response.status === 204) return { ok: true, status: 204, data: undefined as T };
    try {
      return { ok: true, status: response.status, data: (await response.json()) as T };
    } catch {
      return { ok: false, status: response.status, code: 'HTTP', message: 'The server sent an answer this page could not read.' };
    }
  }
}

/** Calls as one participant (`?participantId=`, proven by that participant's cookie). */
export class ParticipantApi extends ApiClient {
  readonly participantId: string;

  constructor(participantId: string) {
    super();
    this.participantId = participantId;
  }

  override url(path: string): string {
    const sep = path.includes('?') ? '&' : '?';
    return `/api${path}${sep}participantId=${encodeURIComponent(this.participantId)}`;
  }

  /** Who this browser is signed in as, for this participant (401: not signed in). */
  me(): Promise<ApiResult<MeResponse>> {
    return this.get<MeResponse>('/me');
  }
}

export type SignedIn = { phase: 'signed-out' } | { phase: 'error'; message: string } | { phase: 'ok'; me: MeResponse };

/** A page's first step: who this browser is signed in as (401: not signed in; else an error to show). */
export async function signedIn(api: ParticipantApi): Promise<SignedIn> {
  const result = await api.me();
  if (result.ok) return { phase: 'ok', me: result.data };
  return result.status === 401 ? { phase: 'signed-out' } : { phase: 'error', message: result.message };
}
