import { mount } from 'svelte';
import App from './App.svelte';
import type { RtpCapabilities } from 'mediasoup-client/types';
import { SCENARIO_STAGE } from '../shared/roles.ts';
import { pageBoot } from './lib/page-boot.ts';
import { participantFromPath } from './lib/page-route.ts';
import { installTestHook } from './lib/test-hook.ts';
import './styles.css';

installTestHook();

// A room page starts its flow (socket, media join) before the app mounts, so its socket is
// already connecting while the page renders and its components download.
const roomParticipant = participantFromPath(window.location.pathname, 'room');
const roomFlowStarted = roomParticipant
  ? import('./lib/room-flow.svelte.ts').then(
      ({ roomFlow }) => void roomFlow(roomParticipant),
      // Not loaded: the room page itself shows why (it imports the flow again).
      () => undefined,
    )
  : Promise.resolve();
// Someone who only watches joins the call at once: their mediasoup device (which asks the
// browser what it can receive) starts loading now, while the flow's socket connects.
const boot = roomParticipant ? pageBoot(roomParticipant) : null;
if (boot?.routerRtpCapabilities && !SCENARIO_STAGE.has(boot.me.role)) {
  const capabilities = boot.routerRtpCapabilities as RtpCapabilities;
  void import('./lib/media-device.ts').then(({ loadDevice }) => loadDevice(capabilities, 'receive')).catch(() => undefined);
}

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');

void roomFlowStarted.then(() => mount(App, { target }));
