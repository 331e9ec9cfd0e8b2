// Child processes of the recorder (ffmpeg, ffprobe) that cannot outlive the server.
//
// Two layers, because a SIGKILLed server runs no cleanup code:
// 1. Each child is started through util-linux's `setpriv --pdeathsig KILL` (Debian's
//    util-linux, always installed), which sets PR_SET_PDEATHSIG and then execs the real
//    program under the same pid: when the server dies, the kernel kills the child at once.
//    KILL, not TERM: an ffmpeg told to finish its file could take many seconds on a loaded
//    machine (a fresh-clone run saw recorders still alive 10 s after the server's SIGKILL),
//    and nothing is lost by not waiting: clusters are flushed every 250 ms, and start-up
//    completes every cut segment (remux, hash, size, duration), as after any killed ffmpeg.
//    Node forks children from its main thread, whose end is the process's end, so the
//    signal fires only then.
// 2. On start-up `reapOrphans` finds any child that still lives (one started in the instant
//    before the parent died, or on a machine without setpriv) by reading /proc/<pid>/cmdline:
//    only a process whose command line names a file under our own recordings directory is
//    touched, so a pid reused by some unrelated process is never killed.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';

let setprivWorks: boolean | undefined;

function hasSetpriv(): boolean {
  setprivWorks ??= spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore' }).status === 0;
  return setprivWorks;
}

/** Spawns `command` so that it is killed when this process dies (see above). */
export function spawnTied(command: string, args: string[], options: SpawnOptions): ChildProcess {
  if (hasSetpriv()) return spawn('setpriv', ['--pdeathsig', 'KILL', command, ...args], options);
  return spawn(command, args, options);
}

/** pids of live processes whose command line mentions `marker` (an absolute directory). */
export function processesMentioning(marker: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.startsWith(marker))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    // A zombie still has a /proc entry but no longer runs.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Ends every process left over from an earlier run that works on files under `dir`: SIGTERM
 * (ffmpeg closes its file properly), then SIGKILL after `graceMs`. Resolves when all are gone.
 */
export async function reapOrphans(dir: string, graceMs = 2000): Promise<number[]> {
  const marker = dir.endsWith('/') ? dir : `${dir}/`;
  const orphans = processesMentioning(marker);
  for (const pid of orphans) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (orphans.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of orphans.filter(alive)) signal(pid, 'SIGKILL');
  while (orphans.some(alive)) await new Promise((r) => setTimeout(r, 20));
  return orphans;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
