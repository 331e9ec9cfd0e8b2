import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig(({ command }) => ({
  root: 'client',
  plugins: [svelte()],
  // The browser bundle's `debug` (mediasoup-client's logger) is always off: see client/lib/debug-off.ts.
  // Build only: tests and the server keep the real package.
  resolve: command === 'build' ? { alias: { debug: fileURLToPath(new URL('./client/lib/debug-off.ts', import.meta.url)) } } : {},
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    sourcemap: true,
    // The server reads the manifest to name, in the room page it serves, the chunks that page
    // will import (modulepreload), so they download alongside the entry script instead of after it.
    manifest: true,
  },
  server: {
    // `vite` dev server proxies the API and signalling to a running `npm run serve`.
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/join': 'http://127.0.0.1:3000',
      '/socket.io': { target: 'http://127.0.0.1:3000', ws: true },
      '/collab': { target: 'http://127.0.0.1:3000', ws: true },
    },
  },
  test: {
    root: '.',
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Browser and media tests share 2 cores: run files one at a time so timings stay honest.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for a condition; vitest's default of 1 s is a race on a loaded 2-core
    // machine (a Yjs update or a socket round trip can take longer there).
    expect: { poll: { timeout: 15_000 } },
  },
}));
