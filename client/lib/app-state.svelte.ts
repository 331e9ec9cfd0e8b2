// Page-level state shared between the room page and the end-to-end test hook.
import type { MeResponse } from '../../shared/api.ts';
import type { DayClock } from './day-clock.svelte.ts';
import type { DayContent } from './day-content.svelte.ts';
import type { MediaSession } from './media-session.svelte.ts';

/** Where the page is in its flow. */
export type AppPhase = 'home' | 'loading' | 'signed-out' | 'error' | 'notices' | 'device-check' | 'room';

class AppState {
  #phase = $state<AppPhase>('home');
  #me = $state.raw<MeResponse | null>(null);
  #session = $state.raw<MediaSession | null>(null);
  #day = $state.raw<DayClock | null>(null);
  #content = $state.raw<DayContent | null>(null);

  get phase(): AppPhase {
    return this.#phase;
  }
  get me(): MeResponse | null {
    return this.#me;
  }
  get session(): MediaSession | null {
    return this.#session;
  }
  /** The assessment day and server clock, from the page's signalling socket (after /api/me). */
  get day(): DayClock | null {
    return this.#day;
  }
  /** Scenario texts and the session overview for this participant. */
  get content(): DayContent | null {
    return this.#content;
  }

  setPhase(phase: AppPhase): void {
    this.#phase = phase;
  }
  setMe(me: MeResponse | null): void {
    this.#me = me;
  }
  setSession(session: MediaSession | null): void {
    this.#session = session;
  }
  setDay(day: DayClock | null): void {
    this.#day = day;
  }
  setContent(content: DayContent | null): void {
    this.#content = content;
  }
}

export const app = new AppState();
