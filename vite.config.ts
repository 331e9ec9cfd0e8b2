import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

/** Small modules several pages share (see the 'common' chunk below). */
const COMMON_MODULE = /[\\/]shared[\\/][^\\/]+\.ts$|[\\/]client[\\/]([a-z]+[\\/]route|lib[\\/](participant-api|page-route|page-boot)|components[\\/]LoadError)\.(ts|svelte)$/;
const zodNeeded = new Map<string, boolean>();
/** Whether this source file, or one it imports (values, not types), imports zod. */
function needsZod(file: string): boolean {
  const known = zodNeeded.get(file);
  if (known !== undefined) return known;
  zodNeeded.set(file, false); // an import cycle answers from what the rest finds
  const source = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const imports = [...source.matchAll(/^import (?!type )[^;]*?from '([^']+)';/gms)].map((m) => m[1]!);
  const needs = imports.some((spec) => spec === 'zod' || (spec.startsWith('.') && needsZod(path.resolve(path.dirname(file), spec))));
  zodNeeded.set(file, needs);
  return needs;
}

/** Integration tests of SQLite's own mechanism: backup and restore of its file. */
const SQLITE_ONLY = [
  'test/integration/backup.test.ts',
  'test/integration/backup-refusals.test.ts',
];

export default defineConfig(({ command }) => ({
  root: 'client',
  plugins: [svelte()],
  // Build only (tests and the server keep the real packages): the browser bundle's `debug`
  // (mediasoup-client's logger) is always off, see client/lib/debug-off.ts; its `zod` is
  // configured for the page's CSP before any schema is built, see client/lib/zod-browser.ts.
  resolve:
    command === 'build'
      ? {
          alias: [
            { find: /^debug$/, replacement: fileURLToPath(new URL('./client/lib/debug-off.ts', import.meta.url)) },
            { find: /^zod$/, replacement: fileURLToPath(new URL('./client/lib/zod-browser.ts', import.meta.url)) },
          ],
        }
      : {},
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    sourcemap: true,
    // The server reads the manifest to name, in the room page it serves, the chunks that page
    // will import (modulepreload), so they download alongside the entry script instead of after it.
    manifest: true,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            {
              // The small modules several pages share (shared/'s vocabulary, the API helper, page
              // routes, the load-error note) in one chunk: a room page otherwise fetched nine files
              // of under 4 kB each, and a browser opens only six connections to a server at a
              // time. None of them imports anything heavy; schemas (and so zod) stay out, see
              // client/lib/zod-browser.ts.
              name: 'common',
              test: (id: string) => COMMON_MODULE.test(id) && !needsZod(id),
              minShareCount: 2,
              maxModuleSize: 8_000,
              includeDependenciesRecursively: false,
            },
          ],
        },
      },
    },
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
    environment: 'node',
    // Browser and media tests share 2 cores: run files one at a time so timings stay honest.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for a condition; vitest's default of 1 s is a race on a loaded 2-core
    // machine (a Yjs update or a socket round trip can take longer there).
    expect: { poll: { timeout: 15_000 } },
    setupFiles: ['test/helpers/engine-env.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/{unit,integration,e2e,fuzz,analytics}/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          // The integration suite again, each studio on a PostgreSQL database of its own
          // (test/helpers/postgres.ts), but the tests of SQLite's own mechanisms (its file
          // locks, backup and restore of the database file).
          name: 'postgres',
          include: ['test/integration/**/*.test.ts', 'test/postgres/**/*.test.ts'],
          exclude: SQLITE_ONLY,
          globalSetup: ['test/helpers/postgres-global-setup.ts'],
        },
      },
    ],
  },
}));
