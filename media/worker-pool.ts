// A pool of mediasoup workers (one per core by default). A worker that dies is replaced at
// once with a new one on the same slot; listeners learn which worker died so that the rooms
// on it can be rebuilt and their clients told to reconnect.
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { MediaConfig } from '../server/config.ts';
import type { Logger } from '../server/log.ts';

export interface PooledWorker {
  slot: number;
  worker: types.Worker;
  /** Present when transports share one UDP+TCP port per worker (SIMSTUDIO_MEDIA_WEBRTC_SERVER_PORT). */
  webRtcServer: types.WebRtcServer | undefined;
}

interface PoolEvents {
  /** A worker died and its replacement is ready. Rooms on `dead` must be rebuilt. */
  workerReplaced: [dead: types.Worker, replacement: PooledWorker];
}

export class WorkerPool extends EventEmitter<PoolEvents> {
  private readonly config: MediaConfig;
  private readonly log: Logger;
  private readonly slots: PooledWorker[] = [];
  private next = 0;
  private closed = false;

  constructor(config: MediaConfig, log: Logger) {
    super();
    this.config = config;
    this.log = log.child({ module: 'worker-pool' });
  }

  async start(): Promise<void> {
    for (let slot = 0; slot < this.config.workers; slot++) {
      this.slots.push(await this.spawn(slot));
    }
  }

  /** Round-robin: new rooms spread over the workers. */
  pick(): PooledWorker {
    if (this.slots.length === 0) throw new Error('worker pool not started');
    const pooled = this.slots[this.next % this.slots.length]!;
    this.next++;
    return pooled;
  }

  slotOf(worker: types.Worker): PooledWorker | undefined {
    return this.slots.find((s) => s.worker === worker);
  }

  get pids(): number[] {
    return this.slots.filter((s) => !s.worker.died && !s.worker.closed).map((s) => s.worker.pid);
  }

  close(): void {
    this.closed = true;
    for (const s of this.slots) s.worker.close();
  }

  private async spawn(slot: number): Promise<PooledWorker> {
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      rtcMinPort: this.config.minPort,
      rtcMaxPort: this.config.maxPort,
      // Debian's liburing is not linked in; see media/worker/build-worker.ts.
      disableLiburing: true,
    });
    let webRtcServer: types.WebRtcServer | undefined;
    if (this.config.webRtcServerPort !== undefined) {
      const port = this.config.webRtcServerPort + slot;
      const listenInfos: types.TransportListenInfo[] = [];
      if (this.config.enableUdp) listenInfos.push({ protocol: 'udp', ip: this.config.listenIp, announcedAddress: this.config.announcedAddress, port });
      if (this.config.enableTcp) {
        listenInfos.push({ protocol: 'tcp', ip: this.config.listenIp, announcedAddress: this.config.announcedAddress, port });
      }
      webRtcServer = await worker.createWebRtcServer({ listenInfos });
    }
    worker.on('died', (error) => void this.replace(slot, worker, error));
    this.log.info({ slot, pid: worker.pid }, 'mediasoup worker started');
    return { slot, worker, webRtcServer };
  }

  private async replace(slot: number, dead: types.Worker, error: Error): Promise<void> {
    if (this.closed) return;
    this.log.error({ slot, pid: dead.pid, err: error.message }, 'mediasoup worker died; replacing it');
    // A freshly died worker's ports may take a moment to be released; retry briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        const replacement = await this.spawn(slot);
        this.slots[slot] = replacement;
        this.emit('workerReplaced', dead, replacement);
        return;
      } catch (spawnError) {
        if (attempt >= 5 || this.closed) {
          this.log.fatal({ slot, err: (spawnError as Error).message }, 'could not replace mediasoup worker');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}
