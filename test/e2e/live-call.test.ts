// End to end in real headless Chromium with fake camera and microphone, against the real
// server and SFU: candidate and actor see and hear each other, observers see both and send
// nothing, the candidate receives exactly the actor's two tracks, and a killed mediasoup
// worker is survived without a page reload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Participant } from '../../shared/domain.ts';
import { launchBrowser, openInvite, pageErrors, peerConnectionFacts, pollUntil, type ParticipantPage, type PeerConnectionFacts } from '../helpers/browser.ts';
import { byRole, createSession, startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let participants: Participant[];
const pages: Record<string, ParticipantPage> = {};

interface InboundFromApp {
  kind: string;
  participantId: string;
  framesDecoded?: number;
  bytesReceived: number;
}

async function appInbound(page: Page): Promise<InboundFromApp[]> {
  return page.evaluate(async () => {
    const session = window.simstudio?.session;
    return session ? (await session.stats()).inbound : [];
  });
}

async function connectionState(page: Page): Promise<string | null> {
  return page.evaluate(() => window.simstudio?.state.connectionState ?? null);
}

/** A remote <video> of this participant that is really playing decoded frames. */
async function remoteVideoPlaying(page: Page, participantId: string): Promise<boolean> {
  return page.evaluate((id) => {
    const video = document.querySelector<HTMLVideoElement>(`video[data-testid="remote-video"][data-participant-id="${id}"]`);
    return !!video && video.readyState >= 2 && video.videoWidth > 0;
  }, participantId);
}

/** Decoded video frames and received audio bytes from `from`, as seen by `page`'s app. */
async function receiving(page: Page, from: Participant): Promise<{ frames: number; audioBytes: number }> {
  const inbound = (await appInbound(page)).filter((s) => s.participantId === from.id);
  return {
    frames: inbound.filter((s) => s.kind === 'video').reduce((n, s) => n + (s.framesDecoded ?? 0), 0),
    audioBytes: inbound.filter((s) => s.kind === 'audio').reduce((n, s) => n + s.bytesReceived, 0),
  };
}

async function join(role: Participant['role']): Promise<ParticipantPage> {
  const participant = byRole(participants, role);
  const opened = await openInvite(browser, await studio.invites.link(studio.baseUrl, participant));
  if (role === 'candidate' || role === 'actor') {
    // The device check: join once camera and microphone are live.
    const joinButton = opened.page.getByTestId('join-button');
    await joinButton.waitFor();
    await pollUntil(`${role} device check ready`, 15_000, async () => joinButton.isEnabled());
    await joinButton.click();
  }
  await pollUntil(`${role} connected`, 20_000, async () => (await connectionState(opened.page)) === 'connected');
  pages[role] = opened;
  return opened;
}

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
  ({ participants } = createSession(studio));
});

afterAll(async () => {
  await browser?.close();
  await studio?.close();
  expect(pageErrors).toEqual([]);
});

describe('live call', () => {
  it('candidate and actor decode each other, and hear each other', async () => {
    const candidate = byRole(participants, 'candidate');
    const actor = byRole(participants, 'actor');
    const c = await join('candidate');
    const a = await join('actor');

    await pollUntil('candidate decodes and hears the actor', 20_000, async () => {
      const r = await receiving(c.page, actor);
      return r.frames > 0 && r.audioBytes > 0 && (await remoteVideoPlaying(c.page, actor.id));
    });
    await pollUntil('actor decodes and hears the candidate', 20_000, async () => {
      const r = await receiving(a.page, candidate);
      return r.frames > 0 && r.audioBytes > 0 && (await remoteVideoPlaying(a.page, candidate.id));
    });
    // Audio reaches an <audio> element that is playing it.
    const audioPlaying = await c.page.evaluate((id) => {
      const audio = document.querySelector<HTMLAudioElement>(`audio[data-testid="remote-audio"][data-participant-id="${id}"]`);
      const stream = audio?.srcObject as MediaStream | null | undefined;
      return !!audio && !audio.paused && (stream?.getAudioTracks().some((t) => t.readyState === 'live') ?? false);
    }, actor.id);
    expect(audioPlaying).toBe(true);
  });

  it('observers decode both, send nothing, and are invisible to the candidate', async () => {
    const candidate = byRole(participants, 'candidate');
    const actor = byRole(participants, 'actor');
    const lead = await join('leadObserver');
    await pollUntil('lead observer decodes the candidate', 20_000, () => remoteVideoPlaying(lead.page, candidate.id));
    // Someone else arriving rebuilds the lead observer's participant list; the candidate's
    // picture must keep its stream (re-attaching it would blank the video for a moment).
    const videoOf = `video[data-testid="remote-video"][data-participant-id="${candidate.id}"]`;
    await lead.page.evaluate((sel) => {
      (window as unknown as { keptStream: unknown }).keptStream = document.querySelector<HTMLVideoElement>(sel)?.srcObject;
    }, videoOf);
    const observer = await join('observer');
    await pollUntil('lead observer lists the other observer', 20_000, async () =>
      lead.page.evaluate((id) => window.simstudio?.state.peers.some((p) => p.participantId === id) ?? false, byRole(participants, 'observer').id),
    );
    expect(
      await lead.page.evaluate((sel) => {
        const kept = (window as unknown as { keptStream: unknown }).keptStream;
        return !!kept && document.querySelector<HTMLVideoElement>(sel)?.srcObject === kept;
      }, videoOf),
    ).toBe(true);

    for (const o of [lead, observer]) {
      await pollUntil('observer decodes candidate and actor', 20_000, async () => {
        const fromCandidate = await receiving(o.page, candidate);
        const fromActor = await receiving(o.page, actor);
        return (
          fromCandidate.frames > 0 &&
          fromActor.frames > 0 &&
          (await remoteVideoPlaying(o.page, candidate.id)) &&
          (await remoteVideoPlaying(o.page, actor.id))
        );
      });
      const facts = await peerConnectionFacts(o.page);
      expect(facts.getUserMediaCalls).toBe(0);
      expect(facts.outbound).toEqual([]);
      // Ever created: one peer connection to read what this browser can receive, one to receive.
      // None to send, nor to read what it could send (client/lib/media-device.ts).
      expect(await o.page.evaluate(() => (window as unknown as { __pcs: unknown[] }).__pcs.length)).toBe(2);
      expect(await o.page.getByTestId('observer-banner').textContent()).toMatch(/not visible to the candidate/i);
    }

    // The candidate's page lists nobody but the actor.
    const candidatePage = pages.candidate!.page;
    const peers = await candidatePage.evaluate(() => window.simstudio?.state.peers ?? []);
    expect(peers.map((p) => p.role)).toEqual(['actor']);
    const text = await candidatePage.content();
    for (const hidden of ['leadObserver', 'observer'] as const) {
      expect(text).not.toContain(byRole(participants, hidden).displayName);
    }
  });

  it("the candidate's peer connections receive exactly the actor's audio and video", async () => {
    const actor = byRole(participants, 'actor');
    const page = pages.candidate!.page;
    // Streams that are flowing now: their bytes grow after a first look. (A stream whose
    // consumer was replaced may linger in getStats() with old counters; it is not received.)
    const first = await peerConnectionFacts(page);
    // mediasoup's bandwidth probe ("probator") is padding from the SFU, not anyone's track.
    const flowingIn = (facts: PeerConnectionFacts) =>
      facts.inbound.filter((s) => {
        if (s.trackIdentifier === 'probator') return false;
        const before = first.inbound.find((b) => b.trackIdentifier === s.trackIdentifier && b.kind === s.kind);
        return s.bytesReceived > (before?.bytesReceived ?? 0);
      });
    const facts = await pollUntil('audio and video bytes growing', 15_000, async () => {
      const now = await peerConnectionFacts(page);
      const kinds = new Set(flowingIn(now).map((s) => s.kind));
      return kinds.has('audio') && kinds.has('video') ? now : undefined;
    });
    expect(flowingIn(facts).map((s) => s.kind).sort()).toEqual(['audio', 'video']);
    // Every live track the page receives belongs to one of the app's consumers of the actor.
    const liveTracks = await page.evaluate(() =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
        .filter((pc) => pc.connectionState !== 'closed')
        .flatMap((pc) => pc.getTransceivers())
        .filter((t) => t.mid !== 'probator' && (t.currentDirection === 'recvonly' || t.currentDirection === 'sendrecv') && t.receiver.track.readyState === 'live')
        .map((t) => t.receiver.track.kind)
        .sort(),
    );
    expect(liveTracks).toEqual(['audio', 'video']);
    const appStreams = await appInbound(page);
    expect(appStreams.map((s) => s.participantId)).toEqual([actor.id, actor.id]);
    // And the candidate sends its own camera and microphone.
    expect(facts.outbound.filter((s) => s.bytesSent > 0).map((s) => s.kind).sort()).toEqual(['audio', 'video']);
  });

  it('survives a killed mediasoup worker: both pages show live video again within 10 s, no reload', async () => {
    const candidate = byRole(participants, 'candidate');
    const actor = byRole(participants, 'actor');
    const c = pages.candidate!.page;
    const a = pages.actor!.page;
    // Mark the documents: a reload would lose these.
    await c.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await a.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const consumersBefore = await c.evaluate(() => window.simstudio?.state.remoteTracks.map((t) => t.consumerId) ?? []);

    const [pid] = studio.pool.pids;
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');

    const freshVideo = async (page: Page, from: Participant): Promise<boolean> => {
      const tracks = await page.evaluate(() => window.simstudio?.state.remoteTracks ?? []);
      const fresh = tracks.some((t) => t.participantId === from.id && t.kind === 'video' && !consumersBefore.includes(t.consumerId));
      return fresh && (await receiving(page, from)).frames > 0 && (await remoteVideoPlaying(page, from.id));
    };
    await pollUntil('candidate sees the actor again', 10_000, () => freshVideo(c, actor));
    await pollUntil('actor sees the candidate again', 10_000, () => freshVideo(a, candidate));
    const recoveredInMs = Date.now() - killedAt;
    expect(recoveredInMs).toBeLessThan(10_000);

    const health = (await (await fetch(`${studio.baseUrl}/api/health`)).json()) as { status: string; mediasoup: { pids: number[] } };
    expect(health.status).toBe('ok');
    expect(health.mediasoup.pids).not.toContain(pid);
    for (const page of [c, a]) {
      expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
      expect(await connectionState(page)).toBe('connected');
    }
    process.stdout.write(`[e2e] recovered from worker death in ${recoveredInMs} ms\n`);
  });
});
