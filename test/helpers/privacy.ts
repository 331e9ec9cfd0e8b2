// Participants in tests accept the privacy and recording notices the way the pre-join page does
// (GET the current versions, POST the answer), so that they may join the room: the server
// refuses anyone who has not (server/privacy/). Tests of the notices themselves answer by hand.
import type { NoticeDecision, ParticipantNotices } from '../../shared/privacy.ts';

/** Answers the notices current now as this participant; returns the HTTP status of the answer. */
export async function answerNotices(baseUrl: string, participantId: string, cookie: string, decision: NoticeDecision = 'accepted'): Promise<number> {
  const query = `participantId=${encodeURIComponent(participantId)}`;
  const notices = await fetch(`${baseUrl}/api/privacy/notices?${query}`, { headers: { cookie } });
  if (!notices.ok) throw new Error(`notices: ${notices.status} ${await notices.text()}`);
  const { privacy, recording } = (await notices.json()) as ParticipantNotices;
  const res = await fetch(`${baseUrl}/api/privacy/answer?${query}`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json' },
    body: JSON.stringify({ privacyVersion: privacy.version, recordingVersion: recording.version, decision }),
  });
  return res.status;
}

/** Accepts the current notices as this participant (throws when the server refuses). */
export async function acceptNotices(baseUrl: string, participantId: string, cookie: string): Promise<void> {
  const status = await answerNotices(baseUrl, participantId, cookie, 'accepted');
  if (status !== 201) throw new Error(`accepting the notices: ${status}`);
}

/** What a browser context needs for the helper below (playwright-core's BrowserContext). */
interface ContextWithRequest {
  request: {
    get(url: string, options: { maxRedirects: number }): Promise<{ status(): number; headers(): Record<string, string> }>;
    fetch(url: string, options: { method: string; data?: unknown }): Promise<{ status(): number; json(): Promise<unknown>; text(): Promise<string> }>;
  };
}

/**
 * Opens an invite link in a browser context (its cookie lands in the context) and, when it leads
 * to the room, accepts the notices there as the pre-join page would; returns the page to open.
 * The pages themselves skip the notices once the current versions are accepted.
 */
export async function openLinkAcceptingNotices(context: ContextWithRequest, inviteLink: string): Promise<string> {
  const opened = await context.request.get(inviteLink, { maxRedirects: 0 });
  const location = opened.headers()['location'];
  if (opened.status() !== 303 || !location) return inviteLink; // a refused link: let the page show why
  const landing = new URL(location, inviteLink);
  const room = /^\/room\/([^/]+)$/.exec(landing.pathname);
  if (room) {
    const query = `participantId=${room[1]}`;
    const notices = await context.request.fetch(`${landing.origin}/api/privacy/notices?${query}`, { method: 'GET' });
    if (notices.status() !== 200) throw new Error(`notices: ${notices.status()} ${await notices.text()}`);
    const { privacy, recording } = (await notices.json()) as ParticipantNotices;
    const answer = await context.request.fetch(`${landing.origin}/api/privacy/answer?${query}`, {
      method: 'POST',
      data: { privacyVersion: privacy.version, recordingVersion: recording.version, decision: 'accepted' },
    });
    if (answer.status() !== 201) throw new Error(`accepting the notices: ${answer.status()} ${await answer.text()}`);
  }
  return landing.toString();
}
