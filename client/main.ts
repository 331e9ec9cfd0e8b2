// Must stay the first import: configures zod before shared/ modules create their schemas.
import './lib/zod-config.ts';
import { mount } from 'svelte';
import App from './App.svelte';
import { installTestHook } from './lib/test-hook.ts';
import './styles.css';

installTestHook();

const target = document.getElementById('app');
if (!target) throw new Error('#app element missing');

export default mount(App, { target });
