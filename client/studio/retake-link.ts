// A retake booked from the moderation page's link: /studio/<id>?retakeOf=<session id>&element=<element>#book.
// The booking form reads the request from the address and prefills what it can from the earlier
// session's moderation view. Kept apart from route.ts so that the home page's chunk does not load
// the moderation schemas.
import { z } from 'zod';
import { ELEMENT_LABELS, type Element, type ModerationView } from '../../shared/moderation.ts';
import { ElementSchema } from '../../shared/moderation-schemas.ts';
import type { StudioApi } from './api.ts';

export interface RetakeRequest {
  of: string;
  element: Element;
}

/** The retake asked for in the address's query, or null (absent or not valid). */
export function retakeFromSearch(search: string): RetakeRequest | null {
  const query = new URLSearchParams(search);
  const of = z.uuid().safeParse(query.get('retakeOf'));
  const element = ElementSchema.safeParse(query.get('element'));
  return of.success && element.success ? { of: of.data, element: element.data } : null;
}

/** Drops the retake request from the address, keeping the tab (once it has been booked, so
 *  that a reload does not offer it again). */
export function forgetRetakeInUrl(): void {
  const url = new URL(window.location.href);
  if (!url.searchParams.has('retakeOf') && !url.searchParams.has('element')) return;
  url.searchParams.delete('retakeOf');
  url.searchParams.delete('element');
  history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
}

/** What the earlier session gives the booking form. */
export interface RetakePrefill {
  candidateName: string;
  candidateRef: string;
  employer: { name: string; consent: boolean } | null;
  templateName: string;
  /** "Retake for <candidate> of the <element> — prefilled from session <title>" */
  note: string;
}

export type PrefillResult = { ok: true; prefill: RetakePrefill } | { ok: false; message: string };

/** The earlier session's moderation view (coordinators may read it), as the form's prefill. */
export async function loadRetakePrefill(api: StudioApi, request: RetakeRequest): Promise<PrefillResult> {
  const result = await api.get<ModerationView>(`/moderation/sessions/${encodeURIComponent(request.of)}`);
  if (!result.ok) {
    return { ok: false, message: `The earlier session could not be loaded (${result.message}); enter the candidate’s details by hand.` };
  }
  const view = result.data;
  return {
    ok: true,
    prefill: {
      candidateName: view.candidateName,
      candidateRef: view.candidateRef ?? '',
      employer: view.employer,
      templateName: view.templateName,
      note: `Retake for ${view.candidateName} of the ${ELEMENT_LABELS[request.element].toLowerCase()} — prefilled from session ${view.title}`,
    },
  };
}
