// The Firefox day, run by test/e2e/firefox.test.ts inside a network namespace of its own
// (Firefox gathers no loopback ICE candidates; see test/helpers/firefox.ts). Not a test file:
// it drives the studio, a Firefox candidate and a Chromium actor, collects what happened, and
// prints it as one JSON line (`FIREFOX_DAY {...}`) for the test to assert on.
//
//   SIMSTUDIO_MEDIA_LISTEN_IP=10.77.0.1 node test/e2e/firefox-day.ts   (inside the namespace)
import fs from 'node:fs';
import type { Browser as ChromiumBrowser, Page as ChromiumPage } from 'playwright-core';
import type { Page as FirefoxPage } from 'pw-ff';
import { WRITTEN_FRAGMENT, collabDocName, type WrittenStatus } from '../../shared/collab.ts';
import type { Participant } from '../../shared/domain.ts';
import { plainText } from '../../shared/written-text.ts';
import { loadConfig } from '../../server/config.ts';
import { DocStore } from '../../server/collab/doc-store.ts';
import { bookDay, testTemplate } from '../helpers/assessment.ts';
import { launchBrowser, openInvite, pageErrors as chromiumPageErrors, pollUntil } from '../helpers/browser.ts';
import { firefoxPageErrors, launchFirefox, openFirefoxInvite } from '../helpers/firefox.ts';
import { connectAs, request, signIn, startTestStudio, type TestStudio } from '../helpers/studio.ts';

/** What one page shows of another participant's video, and how far it has got. */
export interface VideoSample {
  videoWidth: number;
  videoHeight: number;
  readyState: number;
  currentTime: number;
  /** The app's consumer stats (getStats inbound-rtp). */
  framesDecoded: number;
  audioBytes: number;
  /** The remote <audio> element is playing a live track (not held back by autoplay rules). */
  audioPlaying: boolean;
}

export interface FirefoxDayResult {
  firefoxVersion: string;
  /** The Firefox candidate's device check before joining. */
  deviceCheck: { previewWidth: number; micLevel: number; problemShown: boolean; joinEnabled: boolean } | null;
  /** Two samples taken a few seconds apart: frames must advance between them. */
  candidateSeesActor: { first: VideoSample; later: VideoSample } | null;
  actorSeesCandidate: { first: VideoSample; later: VideoSample } | null;
  written: {
    typed: string;
    /** The candidate's page shows it saved. */
    pageSaveState: string | null;
    /** The page warns it cannot keep a copy on the device (IndexedDB unavailable). */
    noLocalCopyWarning: boolean;
    /** Read back from the database (the stored updates), not from the page. */
    storedText: string;
    /** After the lead moved the day on: what the server froze as submitted. */
    frozenText: string | null;
  } | null;
  pageErrors: { firefox: string[]; chromium: string[] };
  /** Each step reached, with seconds since start (where a slow machine lost its time). */
  steps: string[];
  /** The first step that failed, if one did. */
  error: string | null;
}

const TEMPLATE = testTemplate('e2e-firefox', 'Firefox day', 1, [
  { kind: 'briefing', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'scenario', scenario: 1, durationSeconds: 600, timer: 'soft' },
  { kind: 'writtenExercise', durationSeconds: 600, timer: 'hard' },
]);
const TYPED = 'Firefox case notes: visited Grace at home; Daniel was at school.';

type AnyPage = ChromiumPage | FirefoxPage;

/** Runs `fn` in the page: the two playwright-core copies have the same evaluate, typed apart. */
function inPage<R, A>(page: AnyPage, fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
  return (page as ChromiumPage).evaluate(fn as (arg: unknown) => R | Promise<R>, arg as unknown) as Promise<R>;
}

async function videoSample(page: AnyPage, from: Participant): Promise<VideoSample> {
  return inPage(page, async (id: string) => {
    const video = document.querySelector<HTMLVideoElement>(`video[data-testid="remote-video"][data-participant-id="${id}"]`);
    const audio = document.querySelector<HTMLAudioElement>(`audio[data-testid="remote-audio"][data-participant-id="${id}"]`);
    const inbound = ((await window.simstudio?.session?.stats())?.inbound ?? []).filter((s) => s.participantId === id);
    const stream = audio?.srcObject as MediaStream | null | undefined;
    return {
      videoWidth: video?.videoWidth ?? 0,
      videoHeight: video?.videoHeight ?? 0,
      readyState: video?.readyState ?? 0,
      currentTime: video?.currentTime ?? 0,
      framesDecoded: inbound.filter((s) => s.kind === 'video').reduce((n, s) => n + (s.framesDecoded ?? 0), 0),
      audioBytes: inbound.filter((s) => s.kind === 'audio').reduce((n, s) => n + s.bytesReceived, 0),
      audioPlaying: !!audio && !audio.paused && (stream?.getAudioTracks().some((t) => t.readyState === 'live') ?? false),
    };
  }, from.id);
}

/** A first sample once video is showing, and a later one once 30 more frames are decoded. */
async function watch(page: AnyPage, from: Participant, what: string): Promise<{ first: VideoSample; later: VideoSample }> {
  const first = await pollUntil(`${what}: video and sound playing`, 30_000, async () => {
    const s = await videoSample(page, from);
    return s.videoWidth > 0 && s.readyState >= 2 && s.framesDecoded > 0 && s.audioBytes > 0 && s.audioPlaying ? s : undefined;
  });
  const later = await pollUntil(`${what}: frames advancing`, 20_000, async () => {
    const s = await videoSample(page, from);
    return s.framesDecoded >= first.framesDecoded + 30 && s.currentTime > first.currentTime ? s : undefined;
  });
  return { first, later };
}

async function phaseKind(page: AnyPage): Promise<string | null> {
  return inPage(page, () => window.simstudio?.day?.phaseKind ?? null, null);
}

async function run(studio: TestStudio, result: FirefoxDayResult, step: (what: string) => void): Promise<void> {
  const day = bookDay(studio, studio.templates.saveNewVersion(TEMPLATE).id, { actors: [{ displayName: 'Ada Actor', scenarios: [1] }] });
  const link = (who: Participant) => studio.invites.link(studio.baseUrl, who);

  const firefox = await launchFirefox();
  result.firefoxVersion = firefox.version();
  step(`firefox ${result.firefoxVersion} launched`);
  let chromium: ChromiumBrowser | undefined;
  try {
    chromium = await launchBrowser();
    step('chromium launched');
    // The Firefox candidate's device check: camera preview, microphone level, then Join.
    const candidate = (await openFirefoxInvite(firefox, await link(day.candidate))).page;
    const join = candidate.getByTestId('join-button');
    await pollUntil('Firefox device check ready', 30_000, () => join.isEnabled().catch(() => false));
    const preview = await pollUntil('Firefox camera preview', 15_000, async () => {
      const width = await inPage(candidate, () => document.querySelector<HTMLVideoElement>('[data-testid="preview-video"]')?.videoWidth ?? 0, null);
      return width > 0 ? width : undefined;
    });
    const micLevel = await pollUntil('Firefox microphone level moving', 15_000, async () => {
      const level = Number(await candidate.getByTestId('mic-level').getAttribute('aria-valuenow'));
      return level > 0 ? level : undefined;
    });
    result.deviceCheck = {
      previewWidth: preview,
      micLevel,
      problemShown: await candidate.getByTestId('device-problem').isVisible(),
      joinEnabled: await join.isEnabled(),
    };
    await join.click();
    step('firefox candidate passed the device check');

    const actor = (await openInvite(chromium, await link(day.actor1))).page;
    const actorJoin = actor.getByTestId('join-button');
    await pollUntil('Chromium device check ready', 20_000, () => actorJoin.isEnabled().catch(() => false));
    await actorJoin.click();
    step('chromium actor joined');

    // The lead observer runs the day from their own signed-in socket: briefing, then the scenario.
    const lead = await connectAs(studio, day.lead);
    const control = async (payload: Parameters<typeof request<'dayControl'>>[2]) => {
      const r = await request(lead, 'dayControl', payload);
      if (!r.ok) throw new Error(`dayControl ${payload.action}: ${r.error.message}`);
    };
    await control({ action: 'start' });
    await control({ action: 'advance', fromPhaseIndex: 0 });
    for (const [page, who] of [[candidate, 'candidate'], [actor, 'actor']] as const) {
      await pollUntil(`${who} page in the scenario`, 15_000, async () => (await phaseKind(page)) === 'scenario');
    }
    step('scenario 1 running');

    result.candidateSeesActor = await watch(candidate, day.actor1, 'Firefox candidate sees the Chromium actor');
    step('firefox decodes chromium');
    result.actorSeesCandidate = await watch(actor, day.candidate, 'Chromium actor sees the Firefox candidate');
    step('chromium decodes firefox');

    // The written exercise, typed in Firefox, read back from the database.
    await control({ action: 'advance', fromPhaseIndex: 1 });
    const editor = candidate.getByTestId('written-editor');
    await editor.waitFor({ timeout: 30_000 });
    step('written exercise shown in firefox');
    const written = collabDocName(day.sessionId, 'written');
    const cookie = await signIn(studio, day.lead);
    const writtenStatus = async (): Promise<WrittenStatus> => {
      const res = await fetch(`${studio.baseUrl}/api/sessions/${day.sessionId}/written?participantId=${day.lead.id}`, { headers: { cookie } });
      return (await res.json()) as WrittenStatus;
    };
    await pollUntil('writing open', 15_000, async () => (await writtenStatus()).status === 'open');
    await editor.click();
    await candidate.keyboard.type(TYPED);
    step('typed in firefox');
    const storedText = await pollUntil('typed text stored in the database', 15_000, async () => {
      const text = plainText(new DocStore(studio.db).load(written).ydoc.getXmlFragment(WRITTEN_FRAGMENT));
      return text.includes(TYPED) ? text : undefined;
    });
    const pageSaveState = await pollUntil('page says saved', 15_000, async () => {
      const state = await candidate.getByTestId('save-status').getAttribute('data-state');
      return state === 'saved' ? state : undefined;
    });
    result.written = {
      typed: TYPED,
      pageSaveState,
      noLocalCopyWarning: await candidate.getByTestId('written-no-local-copy').isVisible(),
      storedText,
      frozenText: null,
    };
    step('written text stored');

    // The lead ends writing early: the server freezes the text as submitted.
    await control({ action: 'advance', fromPhaseIndex: 2 });
    const frozen = await pollUntil('written exercise frozen', 20_000, async () => (await writtenStatus()).frozen ?? undefined);
    result.written.frozenText = frozen.text;
    step('written text frozen');
    lead.disconnect();
  } finally {
    await chromium?.close();
    await firefox.close();
    step('browsers closed');
  }
}

async function main(): Promise<void> {
  const listenIp = process.env.SIMSTUDIO_MEDIA_LISTEN_IP;
  if (!listenIp) throw new Error('run through test/e2e/firefox.test.ts: it sets up the network namespace and SIMSTUDIO_MEDIA_LISTEN_IP');
  const startedAt = Date.now() - performance.now(); // since the process started (imports included)
  const result: FirefoxDayResult = {
    firefoxVersion: '',
    deviceCheck: null,
    candidateSeesActor: null,
    actorSeesCandidate: null,
    written: null,
    pageErrors: { firefox: firefoxPageErrors, chromium: chromiumPageErrors },
    steps: [],
    error: null,
  };
  const step = (what: string): void => {
    const line = `${((Date.now() - startedAt) / 1000).toFixed(1)} s  ${what}`;
    result.steps.push(line);
    process.stderr.write(`[firefox-day] ${line}\n`);
  };
  const base = loadConfig({ SIMSTUDIO_MEDIA_LISTEN_IP: listenIp, SIMSTUDIO_MEDIA_WORKERS: '1' });
  // A short grace: the lead ends writing early and the freeze follows 2 s later, not 60.
  const studio = await startTestStudio({ media: base.media, written: { ...base.written, graceMs: 2000 } });
  step('studio started');
  try {
    await run(studio, result, step);
  } catch (error) {
    result.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  } finally {
    await studio.close();
    fs.rmSync(studio.dataDir, { recursive: true, force: true });
    step('studio closed');
  }
  process.stdout.write(`FIREFOX_DAY ${JSON.stringify(result)}\n`);
}

await main();
