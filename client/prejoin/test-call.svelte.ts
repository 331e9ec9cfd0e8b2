// The test call's state: each check in turn (browser, camera, microphone, speakers, the
// connection to the media server), then the whole result stored on the server for the
// coordinator's board. Components read the getters and act through the methods.
import {
  PREJOIN_STEPS,
  type PrejoinInfo,
  type PrejoinResult,
  type PrejoinStep,
  type ProbePath,
  type TestCallSummary,
} from '../../shared/prejoin.ts';
import { ParticipantApi } from '../lib/participant-api.ts';
import { checkBrowser, type BrowserSupport } from './browser-support.ts';
import { testConnection, type ConnectionOutcome } from './connection-test.ts';
import { playChime } from './speaker-tone.ts';

export type StepState = 'waiting' | 'running' | 'question' | 'passed' | 'failed';

const allWaiting = (): Record<PrejoinStep, StepState> =>
  Object.fromEntries(PREJOIN_STEPS.map((s) => [s, 'waiting'])) as Record<PrejoinStep, StepState>;

export class TestCallCheck {
  readonly #api: ParticipantApi;
  #info = $state.raw<PrejoinInfo | null>(null);
  #running = $state(false);
  #steps = $state<Record<PrejoinStep, StepState>>(allWaiting());
  #browser = $state.raw<BrowserSupport | null>(null);
  #connection = $state.raw<ConnectionOutcome | null>(null);
  #trying = $state<ProbePath | null>(null);
  #playing = $state(false);
  #saved = $state.raw<TestCallSummary | null>(null);
  #saveError = $state('');
  #answer: ((heard: boolean) => void) | null = null;
  #closed = false;

  constructor(participantId: string) {
    this.#api = new ParticipantApi(participantId);
  }

  get info(): PrejoinInfo | null {
    return this.#info;
  }
  get running(): boolean {
    return this.#running;
  }
  get steps(): Readonly<Record<PrejoinStep, StepState>> {
    return this.#steps;
  }
  get browser(): BrowserSupport | null {
    return this.#browser;
  }
  get connection(): ConnectionOutcome | null {
    return this.#connection;
  }
  get trying(): ProbePath | null {
    return this.#trying;
  }
  get playing(): boolean {
    return this.#playing;
  }
  /** The result as the server stored it (after a run). */
  get saved(): TestCallSummary | null {
    return this.#saved;
  }
  get saveError(): string {
    return this.#saveError;
  }
  async loadInfo(): Promise<void> {
    const info = await this.#api.get<PrejoinInfo>('/prejoin/info');
    if (info.ok && !this.#closed) this.#info = info.data;
  }

  /** Runs every check with the devices the page has now, then stores the result. */
  async run(devices: { video: MediaStreamTrack | null; audio: MediaStreamTrack | null }): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#steps = allWaiting();
    this.#connection = null;
    this.#saved = null;
    this.#saveError = '';
    if (!this.#info) await this.loadInfo();

    const browser = checkBrowser();
    this.#browser = browser;
    this.#steps.browser = browser.missing.length === 0 ? 'passed' : 'failed';
    const live = (t: MediaStreamTrack | null): t is MediaStreamTrack => t !== null && t.readyState === 'live';
    this.#steps.camera = live(devices.video) ? 'passed' : 'failed';
    this.#steps.microphone = live(devices.audio) ? 'passed' : 'failed';

    // The connection is measured while the person answers the speaker question.
    const connection = this.#testConnection(devices);
    const speakers = this.#askSpeakers();
    const [outcome, heard] = await Promise.all([connection, speakers]);
    if (this.#closed) return;
    this.#connection = outcome;
    this.#steps.connection = outcome.path ? 'passed' : 'failed';
    this.#steps.speakers = heard ? 'passed' : 'failed';
    await this.#submit(browser, outcome);
    this.#running = false;
  }

  /** Plays the test sound (again). */
  async playSound(): Promise<void> {
    if (this.#playing) return;
    this.#playing = true;
    try {
      await playChime();
    } catch (error) {
      console.warn('[simstudio] test sound could not play', error);
    } finally {
      this.#playing = false;
    }
  }

  answerSpeakers(heard: boolean): void {
    this.#answer?.(heard);
  }

  close(): void {
    this.#closed = true;
    this.#answer?.(false);
  }

  /** Plays the sound and waits for "Did you hear it?"; a "no" shows the advice. */
  async #askSpeakers(): Promise<boolean> {
    this.#steps.speakers = 'question';
    void this.playSound();
    const heard = await new Promise<boolean>((resolve) => (this.#answer = resolve));
    this.#answer = null;
    this.#steps.speakers = heard ? 'passed' : 'failed';
    return heard;
  }

  async #testConnection(devices: { video: MediaStreamTrack | null; audio: MediaStreamTrack | null }): Promise<ConnectionOutcome> {
    const none: ConnectionOutcome = { path: null, probeId: null, tried: [], rttMs: null, uploadKbps: null, quality: 'none' };
    if (typeof RTCPeerConnection !== 'function') return none;
    this.#steps.connection = 'running';
    const paths = this.#info?.paths ?? ['udp', 'tcp'];
    // The real camera shows real upload; without one, a drawn picture still tests the path.
    const own = devices.video?.readyState === 'live' ? null : canvasTrack();
    const track = own ?? devices.video!;
    try {
      return await testConnection(this.#api, paths, track, (path) => (this.#trying = path));
    } finally {
      own?.stop();
      this.#trying = null;
    }
  }

  async #submit(browser: BrowserSupport, outcome: ConnectionOutcome): Promise<void> {
    const steps = this.#steps;
    const outcomeOf = (s: PrejoinStep): 'passed' | 'failed' => (steps[s] === 'passed' ? 'passed' : 'failed');
    const result: PrejoinResult = {
      probeId: outcome.path ? outcome.probeId : null,
      steps: {
        browser: outcomeOf('browser'),
        camera: outcomeOf('camera'),
        microphone: outcomeOf('microphone'),
        speakers: outcomeOf('speakers'),
        connection: outcomeOf('connection'),
      },
      browser: { name: browser.name, version: browser.version, missing: browser.missing },
      connection: { path: outcome.path, tried: outcome.tried, rttMs: outcome.rttMs, uploadKbps: outcome.uploadKbps },
    };
    const stored = await this.#api.post<TestCallSummary>('/prejoin/result', result);
    if (this.#closed) return;
    if (stored.ok) this.#saved = stored.data;
    else this.#saveError = stored.message;
  }
}

/** A moving picture drawn on a canvas, for a connection test without a camera. */
function canvasTrack(): MediaStreamTrack {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 180;
  const context = canvas.getContext('2d');
  let frame = 0;
  const draw = (): void => {
    if (!context) return;
    context.fillStyle = `hsl(${(frame * 7) % 360} 60% 50%)`;
    context.fillRect(0, 0, canvas.width, canvas.height);
    frame += 1;
  };
  draw();
  const track = canvas.captureStream(15).getVideoTracks()[0]!;
  const timer = setInterval(draw, 66);
  track.addEventListener('ended', () => clearInterval(timer));
  const stop = track.stop.bind(track);
  track.stop = () => {
    clearInterval(timer);
    stop();
  };
  return track;
}
