// Debian packages the project needs from the machine, and a way to install them.
// `npm install` (the worker build) and `npm test` (Chromium) call ensureAptPackages so that
// on a fresh Debian machine the README's two commands are all the set-up there is: as root
// the packages are installed with apt-get; otherwise the exact command is printed.
import { spawnSync } from 'node:child_process';

/** What the mediasoup worker build needs (media/worker/build-worker.ts). */
export const WORKER_BUILD_PACKAGES = [
  'meson',
  'ninja-build',
  'pkg-config',
  'g++',
  'make',
  'python3',
  'binutils',
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'nlohmann-json3-dev',
  'flatbuffers-compiler',
  'libflatbuffers-dev',
];

/** What the running studio needs: ffmpeg writes the recordings (and ffprobe measures them). */
export const RUNTIME_PACKAGES = ['ffmpeg'];

/**
 * What the tests need: real browsers (Chromium, and Firefox ESR, whose end-to-end test makes
 * its own network namespace with iproute2's `ip`), poppler's pdftotext to read the reports'
 * PDFs, PostgreSQL (the integration suite runs again on a throwaway cluster of it), and Redis
 * and HAProxy (the multi-node tests start a throwaway redis-server, and haproxy on
 * deploy/haproxy.cfg).
 */
export const TEST_PACKAGES = ['chromium', 'firefox-esr', 'iproute2', 'poppler-utils', 'postgresql', 'redis-server', 'haproxy'];

export function missingAptPackages(packages: string[]): string[] {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...packages], { encoding: 'utf8' });
  const installed = new Set(
    (query.stdout ?? '')
      .split('\n')
      .filter((line) => line.endsWith(' installed'))
      .map((line) => line.split(' ')[0]),
  );
  return packages.filter((p) => !installed.has(p));
}

export function ensureAptPackages(packages: string[], why: string, log: (m: string) => void): void {
  const missing = missingAptPackages(packages);
  if (missing.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  const canInstall =
    process.getuid?.() === 0 && !process.env.SIMSTUDIO_NO_APT && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0;
  if (!canInstall) {
    throw new Error(`${why} needs Debian packages that are missing. Install them with:\n  sudo ${command}`);
  }
  log(`${why}: installing ${missing.join(' ')} with apt-get`);
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
    const run = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (run.status !== 0) throw new Error(`apt-get ${args[0]} failed; run as root:\n  ${command}`);
  }
}
