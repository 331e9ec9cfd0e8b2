// Must stay the first import: configures zod before shared/ modules create their schemas.
import './lib/zod-config.ts';
import { mount } from 'svelte';
import App from './App.svelte';
import { participantFromPath } from './lib/page-route.ts';
import { installTestHook } from './lib/test-hook.ts';
import './styles.css';

installTestHook();

// A room page starts its flow (socket, media join) now, while its components still download.
const roomParticipant = participantFromPath(window.location.pathname, 'room');
if (roomParticipant) void import('./lib/room-flow.svelte.ts').then(({ roomFlow }) => roomFlow(roomParticipant));

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');

export default mount(App, { target });
