// The room page's flow: who am I → the page's one signalling socket (the day, the clock,
// presence) → privacy and recording notices (skipped when the page says they are accepted) → device check (candidates and actors) → the room. The entry script starts it
// before the room's components have downloaded (client/main.ts), so nothing on the way to the
// first picture waits for them: "who am I" is in the page the server sent (PageBoot; GET
// /api/me only when it is not), the socket opens at once, and people who only watch join the
// media at once. mediasoup-client is its own chunk, fetched in parallel (the server names it
// in the page as a modulepreload).
import { landingPath, type MeResponse } from '../../shared/api.ts';
import { ROOM_ROLES, SCENARIO_STAGE } from '../../shared/roles.ts';
import { app } from './app-state.svelte.ts';
import { DayClock } from './day-clock.svelte.ts';
import { DayContent } from './day-content.svelte.ts';
import { pageBoot } from './page-boot.ts';
import { ParticipantApi } from './participant-api.ts';
import { connectSignalling, type SignallingSocket } from './signalling.ts';

type MediaModule = typeof import('./media-session.svelte.ts');

export class RoomFlow {
  readonly participantId: string;
  #errorMessage = $state('');
  #socket: SignallingSocket | null = null;
  #media: Promise<MediaModule> | null = null;
  /** From the page (PageBoot): lets the media join receive in its first request. */
  #routerRtpCapabilities: unknown;
  /** From the page (PageBoot): the current notices are accepted, so they are not asked for again. */
  #noticesAccepted = false;
  #closed = false;

  constructor(participantId: string) {
    this.participantId = participantId;
  }

  /** Why "who am I" failed, when app.phase is 'error'. */
  get errorMessage(): string {
    return this.#errorMessage;
  }

  start(): void {
    app.setPhase('loading');
    const boot = pageBoot(this.participantId);
    this.#routerRtpCapabilities = boot?.routerRtpCapabilities;
    this.#noticesAccepted = boot?.noticesAccepted === true;
    if (boot) this.#signedIn(boot.me);
    else void this.#loadMe();
  }

  /** After 'error': "who am I" again, or (that known) loading the call again. */
  retry(): void {
    const me = app.me;
    if (me) this.#signedIn(me);
    else void this.#loadMe();
  }

  /** Asks the server who this browser is. */
  async #loadMe(): Promise<void> {
    app.setPhase('loading');
    this.#errorMessage = '';
    const result = await new ParticipantApi(this.participantId).me();
    if (this.#closed) return;
    if (!result.ok) {
      if (result.status === 401) app.setPhase('signed-out');
      else {
        this.#errorMessage = result.message;
        app.setPhase('error');
      }
      return;
    }
    this.#signedIn(result.data);
  }

  /** Camera and microphone from the device check (null: someone who only watches). */
  enterRoom(localStream: MediaStream | null): void {
    const socket = this.#socket;
    if (!socket || this.#closed) return;
    void this.#mediaModule().then(
      ({ MediaSession }) => {
        if (this.#closed || app.session) return;
        const session = new MediaSession({
          participantId: this.participantId,
          localStream,
          socket,
          ...(this.#routerRtpCapabilities ? { routerRtpCapabilities: this.#routerRtpCapabilities } : {}),
        });
        app.setSession(session);
        app.setPhase('room');
        session.start();
      },
      () => {
        if (this.#closed) return;
        this.#errorMessage = 'SimStudio could not load the video call. Check your connection and reload the page.';
        app.setPhase('error');
      },
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    app.session?.close();
    app.setSession(null);
    app.day?.close();
    app.setDay(null);
    app.setContent(null);
    this.#socket?.disconnect();
    this.#socket = null;
    if (current === this) current = null;
  }

  #signedIn(me: MeResponse): void {
    if (!ROOM_ROLES.has(me.role)) {
      // An analyst has no place in the room (the server refuses their socket): to their page.
      window.location.replace(landingPath({ id: me.participantId, role: me.role }));
      return;
    }
    app.setMe(me);
    document.title = `${me.sessionTitle} — SimStudio`;
    this.#openConnection(me);
    // The privacy and recording notices come first (client/prejoin/ConsentNotices.svelte),
    // unless the page says they are accepted already: then someone who only watches joins the
    // media now, before the room's components have even downloaded.
    app.setPhase('notices');
    if (this.#noticesAccepted) this.noticesAccepted();
  }

  /** The current notices are accepted: on to the device check, or (watching only) the room. */
  noticesAccepted(): void {
    const me = app.me;
    if (!me || this.#closed || app.phase !== 'notices') return;
    if (SCENARIO_STAGE.has(me.role)) app.setPhase('device-check');
    else this.enterRoom(null);
  }

  #mediaModule(): Promise<MediaModule> {
    this.#media ??= import('./media-session.svelte.ts').catch((error: unknown) => {
      this.#media = null; // a retry fetches it again
      throw error;
    });
    return this.#media;
  }

  /** One Socket.IO connection per page, before any device check: the day and presence need it. */
  #openConnection(me: MeResponse): void {
    if (this.#socket) return;
    this.#socket = connectSignalling(this.participantId, me.sessionId);
    // Everyone in the room needs mediasoup-client; candidates and actors after their device check.
    void this.#mediaModule().catch(() => undefined);
    app.setDay(new DayClock(this.#socket));
    app.setContent(new DayContent(this.participantId, me.sessionId));
  }
}

let current: RoomFlow | null = null;

/** The page's room flow for this participant, started on first call. */
export function roomFlow(participantId: string): RoomFlow {
  if (current?.participantId === participantId) return current;
  current?.close();
  current = new RoomFlow(participantId);
  current.start();
  return current;
}
