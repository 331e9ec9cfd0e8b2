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

export interface SimStudioTestHook {
  readonly state: SimStudioStateSnapshot;
  readonly session: MediaSession | null;
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
  };
}
