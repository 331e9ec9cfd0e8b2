import { mount } from 'svelte';
import App from './App.svelte';
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

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');

void roomFlowStarted.then(() => mount(App, { target }));
