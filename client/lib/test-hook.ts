// Test hook for end-to-end tests (Playwright): `window.simstudio`.
//
//   window.simstudio.state    → a plain JSON snapshot (safe to return from page.evaluate):
//     { phase: 'home'|'loading'|'signed-out'|'error'|'device-check'|'room',
//       connectionState: 'connecting'|'connected'|'reconnecting'|'failed'|null  (null before the room),
//       failureMessage: string|null,
//       self: PeerInfo|null, peers: PeerInfo[], publishes: boolean, sessionId: string|null,
//       remoteTracks: Array<{ participantId, kind, source, producerId, consumerId }> }
//   window.simstudio.session  → the live MediaSession (null before the room), with
//     connectionState, self, peers, participants, publishes, and
//     stats(): Promise<{ inbound: Array<{kind, participantId, framesDecoded?, bytesReceived, packetsReceived}>,
//                        outboundKinds: string[],   // kinds of producers whose outbound-rtp shows bytesSent > 0
//                        outbound: Array<{kind, bytesSent, packetsSent}> }>
//   window.simstudio.day      → the assessment day as this page sees it:
//     { state: DayState|null   (plain copy; null before it arrives and in sessions without a day),
//       phaseKind: 'briefing'|'scenario'|'writtenExercise'|'reflectiveConversation'|'break'
//                  (the running or paused phase) | 'waiting' | 'complete' | null (no day known),
//       scenario: number|null  (that phase's scenario),
//       remainingMs(): number|null  (countdown on the server clock; negative = soft phase over time),
//       clockOffsetMs: number  (server clock − Date.now()),
//       synced: boolean  (at least one clockSync sample taken: the countdown is corrected) }
import type { DayState } from '../../shared/assessment.ts';
import type { PeerInfo } from '../../shared/protocol.ts';
import { app, type AppPhase } from './app-state.svelte.ts';
import type { ConnectionState, MediaSession } from './media-session.svelte.ts';

export interface SimStudioStateSnapshot {
  phase: AppPhase;
  connectionState: ConnectionState | null;
  failureMessage: string | null;
  self: PeerInfo | null;
  peers: PeerInfo[];
  publishes: boolean;
  sessionId: string | null;
  remoteTracks: Array<{ participantId: string; kind: string; source: string; producerId: string; consumerId: string }>;
}

export interface SimStudioDayHook {
  readonly state: DayState | null;
  readonly phaseKind: string | null;
  readonly scenario: number | null;
  remainingMs(): number | null;
  readonly clockOffsetMs: number;
  readonly synced: boolean;
}

export interface SimStudioTestHook {
  readonly state: SimStudioStateSnapshot;
  readonly session: MediaSession | null;
  readonly day: SimStudioDayHook;
}

declare global {
  interface Window {
    simstudio?: SimStudioTestHook;
  }
}

export function installTestHook(): void {
  window.simstudio = {
    get state(): SimStudioStateSnapshot {
      const s = app.session;
      return {
        phase: app.phase,
        connectionState: s?.connectionState ?? null,
        failureMessage: s?.failureMessage ?? null,
        self: s?.self ? { ...s.self } : null,
        peers: (s?.peers ?? []).map((p) => ({ ...p })),
        publishes: s?.publishes ?? false,
        sessionId: s?.sessionId ?? null,
        remoteTracks: (s?.remoteTracks ?? []).map(({ participantId, kind, source, producerId, consumerId }) => ({
          participantId,
          kind,
          source,
          producerId,
          consumerId,
        })),
      };
    },
    get session(): MediaSession | null {
      return app.session;
    },
    day: {
      get state(): DayState | null {
        const state = app.day?.state;
        return state ? (JSON.parse(JSON.stringify(state)) as DayState) : null;
      },
      get phaseKind(): string | null {
        const day = app.day;
        if (!day?.state) return null;
        if (day.state.status === 'waiting' || day.state.status === 'complete' || day.state.status === 'stopped') return day.state.status;
        return day.phase?.kind ?? null;
      },
      get scenario(): number | null {
        return app.day?.phase?.scenario ?? null;
      },
      remainingMs(): number | null {
        return app.day?.remainingMs() ?? null;
      },
      get clockOffsetMs(): number {
        return app.day?.offsetMs ?? 0;
      },
      get synced(): boolean {
        return app.day?.synced ?? false;
      },
    },
  };
}
