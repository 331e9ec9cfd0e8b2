// The balancer for the multi-node tests: Debian's haproxy running the project's own
// deploy/haproxy.cfg (addresses from the environment), in the foreground, killed by the test.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './server-process.ts';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/haproxy.cfg');

export interface TestBalancer {
  baseUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

/** `nodes`: the studio nodes' base URLs (two, as the shipped configuration names). */
/** `port`: where it listens (chosen beforehand when the nodes must know their public URL). */
export async function startHaproxy(nodes: [string, string], port?: number): Promise<TestBalancer> {
  if (spawnSync('sh', ['-c', 'command -v haproxy']).status !== 0) {
    throw new Error("HAProxy is not installed (Debian package 'haproxy'): the balancer test needs it");
  }
  port ??= await freePort();
  const hostPort = (url: string) => new URL(url).host;
  let output = '';
  const child = spawn('haproxy', ['-db', '-f', CONFIG], {
    env: { ...process.env, SIMSTUDIO_BIND: `127.0.0.1:${port}`, SIMSTUDIO_NODE1: hostPort(nodes[0]), SIMSTUDIO_NODE2: hostPort(nodes[1]) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${baseUrl}/api/health`)).ok) break;
    } catch {
      // not listening yet, or no node up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not answer:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    baseUrl,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}
