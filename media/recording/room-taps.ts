// Every camera and microphone of a room, tapped for the recorder (media-tap.ts) from the moment
// it is produced, for as long as the assessment day runs: a phase that starts recording then
// finds the last seconds already there. A tap follows its participant's producers (a new camera
// or a reconnect replaces a track); a media worker that died takes every tap with it, and the
// producers of the rejoining clients are tapped afresh.
import type { types } from 'mediasoup';
import type { Logger } from '../../server/log.ts';
import type { Room } from '../room.ts';
import { ParticipantTap } from './media-tap.ts';

export class RoomTaps {
  readonly room: Room;
  private readonly log: Logger;
  private readonly taps = new Map<string, Promise<ParticipantTap>>();
  private closed = false;

  constructor(room: Room, log: Logger) {
    this.room = room;
    this.log = log.child({ module: 'taps', sessionId: room.sessionId });
    this.onProducer = this.onProducer.bind(this);
    this.onRebuilt = this.onRebuilt.bind(this);
    room.on('producerAdded', this.onProducer);
    room.on('rebuilt', this.onRebuilt);
    room.once('closed', () => this.close());
    for (const participantId of room.participantIds()) void this.tapOf(participantId);
  }

  /** The participant's tap, following their live camera and microphone (null: none live). */
  async tapOf(participantId: string): Promise<ParticipantTap | null> {
    if (this.closed) return null;
    const producers = [...this.room.producersOf(participantId).values()].filter((p) => p.kind === 'audio' || p.kind === 'video');
    if (producers.length === 0) return null;
    let pending = this.taps.get(participantId);
    if (!pending) {
      pending = ParticipantTap.open(this.room.mediaRouter, participantId, this.log);
      this.taps.set(participantId, pending);
      pending.catch(() => this.taps.delete(participantId));
    }
    const tap = await pending;
    await this.follow(tap, producers);
    return this.closed ? null : tap;
  }

  /**
   * Asks these participants' cameras for a keyframe at once (a recorded phase begins: the
   * sooner one comes, the sooner its recording has a picture).
   */
  requestKeyframes(participantIds: Iterable<string>): void {
    for (const id of participantIds) void this.taps.get(id)?.then((tap) => tap.requestKeyframe(), () => undefined);
  }

  get open(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.room.off('producerAdded', this.onProducer);
    this.room.off('rebuilt', this.onRebuilt);
    for (const pending of this.taps.values()) void pending.then((tap) => tap.close(), () => undefined);
    this.taps.clear();
  }

  private async follow(tap: ParticipantTap, producers: types.Producer[]): Promise<void> {
    for (const producer of producers) {
      if (producer.closed || tap.tracks.get(producer.kind)?.producerId === producer.id) continue;
      try {
        await tap.add(producer, this.room.mediaRouter);
      } catch (error) {
        // The producer went while it was being tapped: the next one is tapped when it comes.
        this.log.info({ participantId: tap.participantId, err: (error as Error).message }, 'producer not tapped');
      }
    }
  }

  private onProducer(participantId: string): void {
    void this.tapOf(participantId);
  }

  private onRebuilt(): void {
    for (const pending of this.taps.values()) void pending.then((tap) => tap.close(), () => undefined);
    this.taps.clear();
  }
}
