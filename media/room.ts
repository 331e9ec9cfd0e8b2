// One live session's media: its router and every peer's transports, producers and consumers.
// The room owns them all; closing a peer closes its transports, which closes their producers
// and consumers (mediasoup cascades), and closing the room closes the router.
//
// Who may publish, consume and know about whom is decided here, on the server, from the
// roles and the current stage (shared/roles.ts); a client's request cannot widen it.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Participant } from '../shared/domain.ts';
import { ProtocolFailure } from '../shared/errors.ts';
import type {
  ConsumeReply,
  MediaKind,
  MediaSource,
  PeerInfo,
  ProducerInfo,
  RequestPayload,
  ServerToClientEvents,
  TransportOptions,
} from '../shared/protocol.ts';
import { mayConsume, mayKnowAbout, mayPublish, type Stage } from '../shared/roles.ts';
import type { MediaConfig } from '../server/config.ts';
import type { Logger } from '../server/log.ts';
import { MEDIA_CODECS } from './codecs.ts';
import type { PooledWorker } from './worker-pool.ts';

/** Caps per peer, so that one misbehaving client cannot exhaust the worker. */
const MAX_TRANSPORTS_PER_PEER = 4;
const MAX_CONSUMERS_PER_PEER = 32;

/** How the room talks back to one peer's client; the signalling layer provides it. */
export interface PeerChannel {
  notify<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
}

type ProducerMeta = {
  participantId: string;
  source: MediaSource;
};

class Peer {
  readonly participant: Participant;
  readonly channel: PeerChannel;
  readonly transports = new Map<string, types.WebRtcTransport>();
  readonly producers = new Map<string, types.Producer<ProducerMeta>>();
  readonly consumers = new Map<string, types.Consumer>();

  constructor(participant: Participant, channel: PeerChannel) {
    this.participant = participant;
    this.channel = channel;
  }

  get info(): PeerInfo {
    return { participantId: this.participant.id, displayName: this.participant.displayName, role: this.participant.role };
  }

  /** Closing the transports closes this peer's producers and consumers too. */
  closeMedia(): void {
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
  }
}

interface RoomEvents {
  closed: [];
  /** A participant started sending a track (the recorder follows these). */
  producerAdded: [participantId: string, producer: types.Producer];
  /** The room moved to a new router (worker died): every producer is gone. */
  rebuilt: [];
}

export class Room extends EventEmitter<RoomEvents> {
  readonly sessionId: string;
  private pooled: PooledWorker;
  private router: types.Router;
  private readonly config: MediaConfig;
  private readonly log: Logger;
  private readonly peers = new Map<string, Peer>();
  private stage: Stage;
  private closed = false;

  private constructor(
    sessionId: string,
    pooled: PooledWorker,
    router: types.Router,
    stage: Stage,
    config: MediaConfig,
    log: Logger,
  ) {
    super();
    this.stage = stage;
    this.sessionId = sessionId;
    this.pooled = pooled;
    this.router = router;
    this.config = config;
    this.log = log.child({ module: 'room', sessionId });
  }

  static async create(sessionId: string, pooled: PooledWorker, stage: Stage, config: MediaConfig, log: Logger): Promise<Room> {
    const router = await pooled.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    return new Room(sessionId, pooled, router, stage, config, log);
  }

  get worker(): types.Worker {
    return this.pooled.worker;
  }

  get peerCount(): number {
    return this.peers.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Adds a peer, or resets the media of one that joins again (a reconnect, or a client
   * rebuilding after mediaReset). Returns what this peer may know about.
   */
  join(participant: Participant, channel: PeerChannel): { peers: PeerInfo[]; producers: ProducerInfo[]; publishes: boolean } {
    this.assertOpen();
    const existing = this.peers.get(participant.id);
    if (existing) {
      existing.closeMedia();
      this.peers.delete(participant.id);
    }
    const peer = new Peer(participant, channel);
    this.peers.set(participant.id, peer);
    if (!existing) {
      for (const other of this.othersWhoMayKnowAbout(peer)) other.channel.notify('peerJoined', peer.info);
    }
    return {
      peers: [...this.peers.values()]
        .filter((p) => p !== peer && mayKnowAbout(peer.participant, p.participant, this.stage))
        .map((p) => p.info),
      producers: this.consumableProducers(peer),
      publishes: mayPublish(participant, this.stage),
    };
  }

  /** Removes a peer (its socket left). Closes the room when nobody is left. */
  leave(participantId: string, channel: PeerChannel): void {
    const peer = this.peers.get(participantId);
    // A newer connection of the same participant may have replaced this one already.
    if (!peer || peer.channel !== channel) return;
    peer.closeMedia();
    this.peers.delete(participantId);
    for (const other of this.othersWhoMayKnowAbout(peer)) other.channel.notify('peerLeft', { participantId });
    if (this.peers.size === 0) this.close();
  }

  get routerRtpCapabilities(): types.RtpCapabilities {
    return this.router.rtpCapabilities;
  }

  /** The router itself, for server-side consumers such as the recorder. */
  get mediaRouter(): types.Router {
    return this.router;
  }

  /** Who is on stage now. */
  get currentStage(): Stage {
    return this.stage;
  }

  /** Who a connected participant is (null: not connected). */
  peerInfo(participantId: string): PeerInfo | null {
    return this.peers.get(participantId)?.info ?? null;
  }

  /** Everyone connected to the room. */
  participantIds(): string[] {
    return [...this.peers.keys()];
  }

  /** The live producers of one participant, by source. */
  producersOf(participantId: string): Map<MediaSource, types.Producer> {
    const found = new Map<MediaSource, types.Producer>();
    for (const producer of this.peers.get(participantId)?.producers.values() ?? []) {
      if (!producer.closed) found.set(producer.appData.source, producer);
    }
    return found;
  }

  async createTransport(participantId: string, direction: 'send' | 'recv'): Promise<TransportOptions> {
    const peer = this.peer(participantId);
    if (direction === 'send' && !mayPublish(peer.participant, this.stage)) {
      throw new ProtocolFailure('FORBIDDEN', `a ${peer.participant.role} does not send media in this part of the session`);
    }
    if (peer.transports.size >= MAX_TRANSPORTS_PER_PEER) {
      throw new ProtocolFailure('FORBIDDEN', `at most ${MAX_TRANSPORTS_PER_PEER} transports per participant`);
    }
    const transport = await this.router.createWebRtcTransport({
      ...this.listenOptions(),
      appData: { direction, participantId },
      initialAvailableOutgoingBitrate: 1_000_000,
    });
    peer.transports.set(transport.id, transport);
    transport.observer.on('close', () => peer.transports.delete(transport.id));
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  }

  async connectTransport(participantId: string, p: RequestPayload<'connectTransport'>): Promise<void> {
    const transport = this.transport(participantId, p.transportId);
    await transport.connect({ dtlsParameters: p.dtlsParameters as unknown as types.DtlsParameters });
  }

  async restartIce(participantId: string, transportId: string): Promise<{ iceParameters: unknown }> {
    const transport = this.transport(participantId, transportId);
    return { iceParameters: await transport.restartIce() };
  }

  async produce(participantId: string, p: RequestPayload<'produce'>): Promise<{ producerId: string }> {
    const peer = this.peer(participantId);
    if (!mayPublish(peer.participant, this.stage)) {
      throw new ProtocolFailure('FORBIDDEN', `a ${peer.participant.role} does not send media in this part of the session`);
    }
    const transport = this.transport(participantId, p.transportId);
    if ((transport.appData as { direction: string }).direction !== 'send') {
      throw new ProtocolFailure('FORBIDDEN', 'media can only be sent on a send transport');
    }
    const expectedKind: MediaKind = p.source === 'camera' ? 'video' : 'audio';
    if (p.kind !== expectedKind) throw new ProtocolFailure('INVALID_PAYLOAD', `${p.source} must be ${expectedKind}`);
    // One producer per source: a new camera replaces the old one (device switch).
    for (const existing of peer.producers.values()) {
      if (existing.appData.source === p.source) this.closeProducer(participantId, existing.id);
    }
    const producer = await transport.produce<ProducerMeta>({
      kind: p.kind,
      rtpParameters: p.rtpParameters as unknown as types.RtpParameters,
      appData: { participantId, source: p.source },
    });
    peer.producers.set(producer.id, producer);
    producer.observer.on('close', () => peer.producers.delete(producer.id));
    this.emit('producerAdded', participantId, producer);
    const info = producerInfo(producer);
    for (const other of this.peers.values()) {
      if (other !== peer && mayConsume(other.participant, peer.participant, this.stage)) {
        other.channel.notify('newProducer', info);
      }
    }
    return { producerId: producer.id };
  }

  closeProducer(participantId: string, producerId: string): void {
    const peer = this.peer(participantId);
    const producer = peer.producers.get(producerId);
    if (!producer) throw new ProtocolFailure('NOT_FOUND', 'no such producer of yours');
    producer.close();
    peer.producers.delete(producerId);
  }

  /**
   * The join's fast path: a receive transport, and on it a consumer for every producer this
   * peer may receive now, in one request instead of one round trip each. These consumers start
   * unpaused: the transport is new, so nothing flows until the client has set up its side and
   * connected it, and at that moment mediasoup asks each video producer for a keyframe (no grey
   * start, no resume round trip). A producer that cannot be consumed (gone meanwhile, codecs)
   * is left out; the client asks for it the usual way and hears why.
   */
  async receiveAll(participantId: string, rtpCapabilities: RequestPayload<'consume'>['rtpCapabilities']): Promise<{ recvTransport: TransportOptions; consumers: ConsumeReply[] }> {
    const recvTransport = await this.createTransport(participantId, 'recv');
    const producers = this.consumableProducers(this.peer(participantId));
    const settled = await Promise.allSettled(
      producers.map((p) => this.consume(participantId, { producerId: p.producerId, rtpCapabilities }, { paused: false })),
    );
    const consumers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    return { recvTransport, consumers };
  }

  async consume(participantId: string, p: RequestPayload<'consume'>, options: { paused: boolean } = { paused: true }): Promise<ConsumeReply> {
    const peer = this.peer(participantId);
    const owner = this.producerOwner(p.producerId);
    // Another session's producer, or one that does not exist, looks the same: not found here.
    if (!owner) throw new ProtocolFailure('NOT_FOUND', 'no such producer in this session');
    if (owner === peer) throw new ProtocolFailure('FORBIDDEN', 'cannot consume your own media');
    if (!mayConsume(peer.participant, owner.participant, this.stage)) {
      this.log.warn({ participantId, role: peer.participant.role, target: owner.participant.role }, 'consume refused');
      throw new ProtocolFailure('FORBIDDEN', 'you may not receive this media');
    }
    if (peer.consumers.size >= MAX_CONSUMERS_PER_PEER) {
      throw new ProtocolFailure('FORBIDDEN', `at most ${MAX_CONSUMERS_PER_PEER} consumers per participant`);
    }
    const rtpCapabilities = p.rtpCapabilities as unknown as types.RtpCapabilities;
    if (!this.router.canConsume({ producerId: p.producerId, rtpCapabilities })) {
      throw new ProtocolFailure('MEDIA_ERROR', 'your browser cannot decode this media');
    }
    const recv = [...peer.transports.values()].find((t) => (t.appData as { direction: string }).direction === 'recv');
    if (!recv) throw new ProtocolFailure('NOT_FOUND', 'create a receive transport first');
    // Created paused (unless receiveAll says otherwise): the client resumes once its local
    // consumer exists, so the keyframe request that resume triggers reaches a decoder that is
    // ready (no grey start).
    const consumer = await recv.consume({ producerId: p.producerId, rtpCapabilities, paused: options.paused });
    peer.consumers.set(consumer.id, consumer);
    const onGone = (): void => {
      if (peer.consumers.delete(consumer.id)) {
        peer.channel.notify('consumerClosed', { consumerId: consumer.id, producerId: p.producerId });
      }
    };
    consumer.on('producerclose', () => {
      onGone();
      peer.channel.notify('producerClosed', { producerId: p.producerId });
    });
    consumer.on('transportclose', () => peer.consumers.delete(consumer.id));
    return {
      consumerId: consumer.id,
      producerId: p.producerId,
      participantId: owner.participant.id,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters,
    };
  }

  async resumeConsumer(participantId: string, consumerId: string): Promise<void> {
    const consumer = this.peer(participantId).consumers.get(consumerId);
    if (!consumer) throw new ProtocolFailure('NOT_FOUND', 'no such consumer of yours');
    await consumer.resume();
  }

  /**
   * Changes who is on stage, without disturbing what stays allowed: consumers the new stage
   * forbids are closed, newly allowed producers are announced, and people appear to or
   * disappear from those who may know about them. Only a participant whose right to send
   * changes (the lead observer entering the reflective conversation) rejoins.
   */
  setStage(stage: Stage): void {
    if (stage.size === this.stage.size && [...stage].every((id) => this.stage.has(id))) return;
    const before = this.stage;
    this.stage = stage;
    const peers = [...this.peers.values()];
    for (const viewer of peers) {
      if (mayPublish(viewer.participant, before) !== mayPublish(viewer.participant, stage)) {
        viewer.closeMedia();
        viewer.channel.notify('mediaReset', { reason: 'stage-changed' });
      }
    }
    for (const viewer of peers) {
      for (const other of peers) {
        if (other === viewer) continue;
        const knew = mayKnowAbout(viewer.participant, other.participant, before);
        const knows = mayKnowAbout(viewer.participant, other.participant, stage);
        if (!knew && knows) viewer.channel.notify('peerJoined', other.info);
        if (knew && !knows) viewer.channel.notify('peerLeft', { participantId: other.participant.id });
      }
      for (const consumer of [...viewer.consumers.values()]) {
        const owner = this.producerOwner(consumer.producerId);
        if (owner && mayConsume(viewer.participant, owner.participant, stage)) continue;
        viewer.consumers.delete(consumer.id);
        consumer.close();
        viewer.channel.notify('consumerClosed', { consumerId: consumer.id, producerId: consumer.producerId });
      }
      for (const other of peers) {
        if (other === viewer || mayConsume(viewer.participant, other.participant, before)) continue;
        if (!mayConsume(viewer.participant, other.participant, stage)) continue;
        for (const producer of other.producers.values()) viewer.channel.notify('newProducer', producerInfo(producer));
      }
    }
  }

  /** Moves the room to a replacement worker after its worker died; clients rejoin. */
  async rebuild(pooled: PooledWorker): Promise<void> {
    this.assertOpen();
    this.pooled = pooled;
    this.router = await pooled.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    this.resetAllPeers('worker-died');
    this.emit('rebuilt');
    this.log.warn({ pid: pooled.worker.pid }, 'room rebuilt on a new worker; clients told to rejoin');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.closeMedia();
    this.peers.clear();
    this.router.close();
    this.emit('closed');
  }

  // ---- internals ----

  private resetAllPeers(reason: 'worker-died' | 'stage-changed'): void {
    for (const peer of this.peers.values()) {
      peer.closeMedia();
      peer.channel.notify('mediaReset', { reason });
    }
  }

  private othersWhoMayKnowAbout(peer: Peer): Peer[] {
    return [...this.peers.values()].filter(
      (other) => other !== peer && mayKnowAbout(other.participant, peer.participant, this.stage),
    );
  }

  private consumableProducers(viewer: Peer): ProducerInfo[] {
    const infos: ProducerInfo[] = [];
    for (const other of this.peers.values()) {
      if (other === viewer || !mayConsume(viewer.participant, other.participant, this.stage)) continue;
      for (const producer of other.producers.values()) infos.push(producerInfo(producer));
    }
    return infos;
  }

  private producerOwner(producerId: string): Peer | undefined {
    for (const peer of this.peers.values()) if (peer.producers.has(producerId)) return peer;
    return undefined;
  }

  private peer(participantId: string): Peer {
    this.assertOpen();
    const peer = this.peers.get(participantId);
    if (!peer) throw new ProtocolFailure('NOT_JOINED', 'join the session first');
    return peer;
  }

  private transport(participantId: string, transportId: string): types.WebRtcTransport {
    const transport = this.peer(participantId).transports.get(transportId);
    if (!transport) throw new ProtocolFailure('NOT_FOUND', 'no such transport of yours');
    return transport;
  }

  private assertOpen(): void {
    if (this.closed) throw new ProtocolFailure('NOT_FOUND', 'this session has no live room any more; rejoin');
  }

  private listenOptions(): types.WebRtcTransportOptions {
    const { webRtcServer } = this.pooled;
    const { enableUdp } = this.config;
    const common = { enableUdp, enableTcp: this.config.enableTcp, preferUdp: enableUdp && !this.config.preferTcp, preferTcp: this.config.preferTcp };
    if (webRtcServer) return { webRtcServer, ...common };
    const portRange = { min: this.config.minPort, max: this.config.maxPort };
    const listenInfos: types.TransportListenInfo[] = [];
    if (enableUdp) listenInfos.push({ protocol: 'udp', ip: this.config.listenIp, announcedAddress: this.config.announcedAddress, portRange });
    if (this.config.enableTcp) {
      listenInfos.push({ protocol: 'tcp', ip: this.config.listenIp, announcedAddress: this.config.announcedAddress, portRange });
    }
    return { listenInfos, ...common };
  }
}

function producerInfo(producer: types.Producer<ProducerMeta>): ProducerInfo {
  return {
    producerId: producer.id,
    participantId: producer.appData.participantId,
    kind: producer.kind,
    source: producer.appData.source,
  };
}
