// The registry of live rooms, one per session. Get-or-create is serialised per session so
// that two people arriving together cannot create two rooms; a room removes itself on close;
// when a worker dies, every room on it is rebuilt on the replacement worker.
import type { types } from 'mediasoup';
import type { MediaConfig } from '../server/config.ts';
import type { Stage } from '../shared/roles.ts';
import type { Logger } from '../server/log.ts';
import { MEDIA_CODECS } from './codecs.ts';
import { Room } from './room.ts';
import type { PooledWorker, WorkerPool } from './worker-pool.ts';

export class RoomRegistry {
  private readonly pool: WorkerPool;
  private readonly config: MediaConfig;
  private readonly log: Logger;
  private readonly rooms = new Map<string, Promise<Room>>();
  private readonly stageFor: (sessionId: string) => Stage;
  private capabilities: Promise<types.RtpCapabilities> | null = null;

  /** `stageFor` gives the stage a new room starts with (the assessment day changes it later). */
  constructor(pool: WorkerPool, config: MediaConfig, log: Logger, stageFor: (sessionId: string) => Stage) {
    this.pool = pool;
    this.stageFor = stageFor;
    this.config = config;
    this.log = log;
    pool.on('workerReplaced', (dead, replacement) => void this.rebuildRoomsOf(dead, replacement));
  }

  getOrCreate(sessionId: string): Promise<Room> {
    const pending = this.rooms.get(sessionId);
    if (pending) return pending;
    const creating = Room.create(sessionId, this.pool.pick(), this.stageFor(sessionId), this.config, this.log).then(
      (room) => {
        room.once('closed', () => {
          if (this.rooms.get(sessionId) === creating) this.rooms.delete(sessionId);
        });
        return room;
      },
      (error: unknown) => {
        this.rooms.delete(sessionId);
        throw error;
      },
    );
    this.rooms.set(sessionId, creating);
    return creating;
  }

  /**
   * The RTP capabilities of every room's router: all are made from the same codecs, so they
   * are the same, and a page can be told them before its room exists (PageBoot). Read once,
   * from a router made for the purpose.
   */
  routerRtpCapabilities(): Promise<types.RtpCapabilities> {
    this.capabilities ??= this.pool
      .pick()
      .worker.createRouter({ mediaCodecs: MEDIA_CODECS })
      .then((router) => {
        const capabilities = router.rtpCapabilities;
        router.close();
        return capabilities;
      })
      .catch((error: unknown) => {
        this.capabilities = null; // the next page asks again
        throw error;
      });
    return this.capabilities;
  }

  async get(sessionId: string): Promise<Room | undefined> {
    return this.rooms.get(sessionId);
  }

  get size(): number {
    return this.rooms.size;
  }

  closeAll(): void {
    for (const pending of this.rooms.values()) void pending.then((room) => room.close(), () => undefined);
    this.rooms.clear();
  }

  private async rebuildRoomsOf(dead: types.Worker, replacement: PooledWorker): Promise<void> {
    for (const [sessionId, pending] of this.rooms) {
      let room: Room;
      try {
        room = await pending;
      } catch {
        continue;
      }
      if (room.worker !== dead || room.isClosed) continue;
      try {
        await room.rebuild(replacement);
      } catch (error) {
        this.log.error({ sessionId, err: (error as Error).message }, 'could not rebuild room; closing it');
        room.close();
      }
    }
  }
}
