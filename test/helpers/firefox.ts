// Debian's firefox-esr, headless, driven over WebDriver BiDi by playwright-core 1.64.1 (the
// exact-pinned "pw-ff" alias: any `moz-` channel switches it to BiDi, undocumented, and 1.65
// breaks on stock Firefox; /work/shared/notes/firefox-e2e.md). Fake camera and microphone
// come from prefs; each participant gets its own browser context (own cookies).
//
// Firefox gathers no loopback ICE candidates, so its media needs a non-loopback address:
// runInMediaNamespace runs a command in a network namespace of its own with one veth address,
// where the SFU can listen and every packet stays inside.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { firefox, type Browser, type BrowserContext, type Page } from 'pw-ff';
import { openLinkAcceptingNotices } from './privacy.ts';

export const FIREFOX = process.env.SIMSTUDIO_FIREFOX ?? '/usr/bin/firefox-esr';

const PREFS = {
  // A fake camera and microphone, granted without a prompt (context permissions are not
  // supported over BiDi: grant through prefs).
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // A machine without a sound card (CI, containers) has no audio output for Firefox to open,
  // and then every AudioContext stays suspended (the device check's microphone meter with it):
  // Firefox's own mock audio backend stands in, as Chromium's fake audio output does.
  'media.cubeb.force_mock_context': true,
};

export async function launchFirefox(): Promise<Browser> {
  if (!fs.existsSync(FIREFOX)) {
    throw new Error(`Firefox not found at ${FIREFOX}: run \`apt-get install firefox-esr\` (npm test does it as root)`);
  }
  return firefox.launch({ channel: 'moz-firefox', executablePath: FIREFOX, headless: true, firefoxUserPrefs: PREFS });
}

export interface FirefoxParticipant {
  context: BrowserContext;
  page: Page;
}

/** Uncaught errors of every page opened through openFirefoxInvite: a test's pages should have none. */
export const firefoxPageErrors: string[] = [];

export async function openFirefoxInvite(browser: Browser, inviteLink: string): Promise<FirefoxParticipant> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    firefoxPageErrors.push(err.message);
    process.stderr.write(`[firefox page error] ${err.message}\n${(err.stack ?? '').split('\n').slice(0, 6).join('\n')}\n`);
  });
  await page.goto(await openLinkAcceptingNotices(context, inviteLink));
  return { context, page };
}

/** The address the SFU listens on inside the namespace (the veth's end in it). */
export const NAMESPACE_MEDIA_IP = '10.77.0.1';

/**
 * The shell that sets up the namespace (run by `unshare -n`, so it starts with only a down
 * loopback) and then execs the command. The veth pair's peer end stays in the namespace too:
 * nothing leaves it. Without the default route Firefox still gathers no candidate.
 */
const NAMESPACE_SETUP = [
  'set -e',
  'ip link set lo up',
  'ip link add sim0 type veth peer name sim1',
  `ip addr add ${NAMESPACE_MEDIA_IP}/24 dev sim0`,
  'ip link set sim0 up',
  'ip link set sim1 up',
  'ip route add default dev sim0',
  'exec "$@"',
].join('\n');

/** Why the namespace cannot be made here, or null when it can. */
function namespacePrerequisitesMissing(): string | null {
  if (process.getuid?.() !== 0) return 'it runs in a network namespace of its own and needs root (CI runs as root)';
  for (const [command, pkg] of [['unshare', 'util-linux'], ['ip', 'iproute2']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0) return `\`${command}\` is missing: apt-get install ${pkg}`;
  }
  return null;
}

export interface NamespaceRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` inside a fresh network namespace (needs root, `unshare` and `ip`), with the
 * environment it is given plus SIMSTUDIO_MEDIA_LISTEN_IP. Its stderr is passed through as it
 * comes (progress of a slow run); it is stopped after `timeoutMs`. Rejects, saying what is
 * missing, when the namespace cannot be made here.
 */
export function runInMediaNamespace(command: string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<NamespaceRun> {
  const missing = namespacePrerequisitesMissing();
  if (missing) return Promise.reject(new Error(`the Firefox end-to-end test cannot run: ${missing}`));
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['--net', 'sh', '-c', NAMESPACE_SETUP, 'namespace', ...command], {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), SIMSTUDIO_MEDIA_LISTEN_IP: NAMESPACE_MEDIA_IP },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      process.stderr.write(d);
    });
    // SIGTERM first: playwright closes the browsers it launched on it.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start \`unshare\` (util-linux) for the Firefox test's network namespace: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
