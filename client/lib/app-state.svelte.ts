// Page-level state shared between the room page and the end-to-end test hook.
import type { MeResponse } from '../../shared/api.ts';
import type { MediaSession } from './media-session.svelte.ts';

/** Where the page is in its flow. */
export type AppPhase = 'home' | 'loading' | 'signed-out' | 'error' | 'device-check' | 'room';

class AppState {
  #phase = $state<AppPhase>('home');
  #me = $state.raw<MeResponse | null>(null);
  #session = $state.raw<MediaSession | null>(null);

  get phase(): AppPhase {
    return this.#phase;
  }
  get me(): MeResponse | null {
    return this.#me;
  }
  get session(): MediaSession | null {
    return this.#session;
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
}

export const app = new AppState();
