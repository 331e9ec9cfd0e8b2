// Puts a mediasoup worker binary where the mediasoup package looks for it
// (node_modules/mediasoup/worker/out/Release/mediasoup-worker), so that a plain
// `npm install` works on a machine that reaches only the npm registry and apt.
//
// Order of preference:
//   1. MEDIASOUP_WORKER_BIN given by the user: verified and linked in place.
//   2. A binary already in place that starts, or one in the cache for this exact
//      mediasoup version + patch revision + system library versions.
//   3. Upstream's prebuilt download (only works where GitHub is reachable).
//   4. A build from the npm package's own worker sources against Debian's system
//      libraries (see build-worker.ts), then cached outside the repo.
//
// mediasoup's own postinstall is skipped by `allowScripts` in package.json because
// offline it aborts the whole `npm install` after ~40 s.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWorker, PATCH_REVISION, systemLibraryVersions } from './build-worker.ts';
import { ensureAptPackages, RUNTIME_PACKAGES } from '../../scripts/system-packages.ts';

const require = createRequire(import.meta.url);
// mediasoup's exports map hides package.json; its main entry is node/lib/index.js.
const mediasoupDir = path.resolve(path.dirname(require.resolve('mediasoup')), '..', '..');
const mediasoupVersion: string = JSON.parse(
  fs.readFileSync(path.join(mediasoupDir, 'package.json'), 'utf8'),
).version;
const targetBin = path.join(mediasoupDir, 'worker', 'out', 'Release', 'mediasoup-worker');

function log(message: string): void {
  process.stdout.write(`[simstudio worker] ${message}\n`);
}

/** A worker binary run bare (without its parent's channel fds) prints this and exits: proof it loads. */
export function workerStarts(bin: string): boolean {
  if (!fs.existsSync(bin)) return false;
  const run = spawnSync(bin, [], { encoding: 'utf8', timeout: 10_000 });
  return `${run.stdout}${run.stderr}`.includes("you don't seem to be my real father");
}

function install(from: string): void {
  fs.mkdirSync(path.dirname(targetBin), { recursive: true });
  fs.rmSync(targetBin, { force: true });
  fs.copyFileSync(from, targetBin);
  fs.chmodSync(targetBin, 0o755);
}

function cacheDir(): string {
  const base =
    process.env.SIMSTUDIO_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'simstudio');
  const libs = systemLibraryVersions()
    .map(([name, version]) => `${name}=${version}`)
    .join(',');
  const key = `${mediasoupVersion}-p${PATCH_REVISION}-${os.arch()}-${hash(libs)}`;
  return path.join(base, 'mediasoup-worker', key);
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

async function tryPrebuiltDownload(): Promise<string | null> {
  if (process.env.SIMSTUDIO_SKIP_PREBUILT_DOWNLOAD) return null;
  const kernel = os.platform() === 'linux' ? `-kernel${os.release().split('.')[0]}` : '';
  const name = `mediasoup-worker-${mediasoupVersion}-${os.platform()}-${os.arch()}${kernel}.tgz`;
  const url = `https://github.com/versatica/mediasoup/releases/download/${mediasoupVersion}/${name}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
    if (!res.ok) {
      log(`no prebuilt worker (${res.status}); building from source`);
      return null;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediasoup-prebuilt-'));
    fs.writeFileSync(path.join(dir, name), Buffer.from(await res.arrayBuffer()));
    const untar = spawnSync('tar', ['xzf', name], { cwd: dir });
    const bin = path.join(dir, 'mediasoup-worker');
    if (untar.status === 0 && workerStarts(bin)) return bin;
    log('prebuilt worker does not start here; building from source');
    return null;
  } catch (error) {
    log(`prebuilt download unavailable (${(error as Error).message}); building from source`);
    return null;
  }
}

async function main(): Promise<void> {
  // Recording needs ffmpeg at run time; install it with everything else (as root).
  try {
    ensureAptPackages(RUNTIME_PACKAGES, 'recording', log);
  } catch (error) {
    log(`warning: ${(error as Error).message}`);
  }
  const userBin = process.env.MEDIASOUP_WORKER_BIN;
  if (userBin) {
    if (!workerStarts(userBin)) {
      throw new Error(`MEDIASOUP_WORKER_BIN=${userBin} is not a working mediasoup worker binary`);
    }
    log(`using MEDIASOUP_WORKER_BIN=${userBin}`);
    return;
  }

  const cached = path.join(cacheDir(), 'mediasoup-worker');
  if (workerStarts(cached)) {
    install(cached);
    log(`installed cached worker ${cached}`);
    return;
  }

  const prebuilt = await tryPrebuiltDownload();
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  if (prebuilt) {
    fs.copyFileSync(prebuilt, cached);
    fs.chmodSync(cached, 0o755);
  } else {
    buildWorker(path.join(mediasoupDir, 'worker'), cached, log);
  }
  if (!workerStarts(cached)) {
    fs.rmSync(cached, { force: true });
    throw new Error(`the worker at ${cached} does not start`);
  }
  install(cached);
  log(`installed worker (cached at ${cached})`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `\n[simstudio worker] FAILED: ${(error as Error).message}\n` +
      'See README.md, "Installing offline", for the apt packages the worker build needs.\n\n',
  );
  process.exit(1);
});
