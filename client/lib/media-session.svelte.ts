// One participant's live media in one room: signalling socket, mediasoup-client Device,
// send/recv transports, producers, consumers, the people list and the connection state.
// Components read the getters (all reactive) and act only through the public methods.
// The page's one signalling socket can be handed in (`socket`); the session then only adds
// and removes its own listeners and leaves the socket open when it closes.
import type { Device } from 'mediasoup-client';
import type {
  Consumer,
  IceParameters,
  Producer,
  RtpCapabilities,
  RtpParameters,
  Transport,
  TransportOptions as MsTransportOptions,
  ConnectionState as TransportConnectionState,
} from 'mediasoup-client/types';
import {
  PROTOCOL_VERSION,
  type ConsumeReply,
  type RequestPayload,
  type TransportOptions,
  type MediaKind,
  type MediaSource,
  type PeerInfo,
  type ProducerInfo,
  type ServerToClientEvents,
} from '../../shared/protocol.ts';
import { connectSignalling, request, type RequestError, type SignallingSocket } from './signalling.ts';
import { loadDevice, type DeviceUse } from './media-device.ts';
import { ROLE_RANK } from '../../shared/roles.ts';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed';

/** A remote track this client is receiving. */
export interface RemoteTrack {
  consumerId: string;
  producerId: string;
  participantId: string;
  kind: MediaKind;
  source: MediaSource;
  track: MediaStreamTrack;
}

/** A known remote person with whatever media of theirs is currently being received. */
export interface RemoteParticipant extends PeerInfo {
  videoTrack: MediaStreamTrack | null;
  audioTrack: MediaStreamTrack | null;
}

/** Result of `stats()`; see client/lib/test-hook.ts. */
export interface MediaStats {
  inbound: Array<{
    kind: MediaKind;
    participantId: string;
    framesDecoded?: number;
    bytesReceived: number;
    packetsReceived: number;
  }>;
  /** Kinds ('audio' / 'video') of local producers whose outbound-rtp stats show bytes sent. */
  outboundKinds: string[];
  outbound: Array<{ kind: MediaKind; bytesSent: number; packetsSent: number }>;
}

export interface MediaSessionOptions {
  participantId: string;
  /** Camera + microphone from the device check; null for people who only watch. */
  localStream: MediaStream | null;
  /** The page's existing signalling socket (shared with the day UI). Not closed by close(). */
  socket?: SignallingSocket;
  /** Injectable for tests; defaults to the same-origin Socket.IO connection. Used without `socket`. */
  connect?: (participantId: string) => SignallingSocket;
  /** The router's RTP capabilities, when the page was given them (PageBoot): the device loads
   *  at once, and the join asks to receive in the same request. Otherwise the first join
   *  learns them and takes a round trip more. */
  routerRtpCapabilities?: unknown;
}

type Phase = 'connecting' | 'joined' | 'reconnecting' | 'failed';

/** The untyped listener API of a Socket.IO socket (so listeners can be tracked and removed). */
interface Listenable {
  on(event: string, handler: (...args: never[]) => void): unknown;
  off(event: string, handler: (...args: never[]) => void): unknown;
}

/** Join failures after which retrying cannot help. */
const FATAL_CODES = new Set<string>(['PROTOCOL_VERSION_MISMATCH', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'UNSUPPORTED']);
const MAX_JOIN_ATTEMPTS = 5;
/** How long a transport may stay unconnected after an ICE restart before a full rejoin. */
const ICE_RECOVERY_MS = 15_000;

/** A failed step of the join flow. */
class StepError extends Error {
  readonly error: RequestError | { code: 'UNSUPPORTED'; message: string };
  constructor(error: RequestError | { code: 'UNSUPPORTED'; message: string }) {
    super(error.message);
    this.error = error;
  }
}

/** Thrown when the join attempt it belongs to has been superseded. */
class Superseded extends Error {}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** mediasoup-client finds no way to do WebRTC in this browser: said as the join's error. */
function unsupportedAsStepError(e: unknown): never {
  if (e instanceof Error && e.name === 'UnsupportedError') throw new StepError({ code: 'UNSUPPORTED', message: e.message });
  throw e;
}

function failureMessageFor(error: { code: string; message: string }): string {
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return 'You are not signed in to this room. Please open your personal invite link again.';
    case 'PROTOCOL_VERSION_MISMATCH':
      return 'This page is out of date. Please reload the page.';
    case 'FORBIDDEN':
      return `You cannot join this room right now (${error.message}).`;
    case 'NOT_FOUND':
      return `This room could not be found (${error.message}).`;
    case 'UNSUPPORTED':
      return 'This browser cannot take part in video calls. Please use a current version of Chrome, Edge, Firefox or Safari.';
    default:
      return `Could not connect to the media server: ${error.message}`;
  }
}

export class MediaSession {
  readonly participantId: string;

  // ---- reactive state (read through getters) ----
  #phase = $state<Phase>('connecting');
  #failureMessage = $state<string | null>(null);
  #iceTrouble = $state.raw<ReadonlySet<string>>(new Set());
  #self = $state.raw<PeerInfo | null>(null);
  #sessionId = $state<string | null>(null);
  #publishes = $state(false);
  #peers = $state.raw<PeerInfo[]>([]);
  #remoteTracks = $state.raw<RemoteTrack[]>([]);
  #localStream = $state.raw<MediaStream | null>(null);
  #localIssue = $state<string | null>(null);
  /** Rejoining because the day moved on (not because something broke). */
  #stageChanging = $state(false);

  #participants = $derived.by((): RemoteParticipant[] => {
    const tracks = this.#remoteTracks;
    return this.#peers
      .map((peer) => ({
        ...peer,
        videoTrack: tracks.find((t) => t.participantId === peer.participantId && t.kind === 'video')?.track ?? null,
        audioTrack: tracks.find((t) => t.participantId === peer.participantId && t.kind === 'audio')?.track ?? null,
      }))
      .sort((a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role]);
  });

  // ---- media objects (not reactive) ----
  readonly #connect: (participantId: string) => SignallingSocket;
  readonly #sharedSocket: SignallingSocket | null;
  #socket: SignallingSocket | null = null;
  /** Listeners this session added to the socket, removed again on close(). */
  #listeners: Array<[string, (...args: never[]) => void]> = [];
  /** Bumped whenever media is torn down; async work of an older epoch stops quietly. */
  #epoch = 0;
  #joinedOnce = false;
  #closed = false;
  #attempts = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The mediasoup device, loaded once with the router's capabilities (`#deviceCaps`, as JSON)
   *  and kept across rejoins: every room's router has the same. */
  #device: Promise<Device> | null = null;
  #deviceCaps: string | null = null;
  /** What `#device` was loaded for: only receiving when the page had no camera or microphone. */
  #deviceUse: DeviceUse = 'sendAndReceive';
  #routerCaps: unknown = null;
  #iceServers: RTCIceServer[] = [];
  #replaced = false;
  #recvTransport: Transport | null = null;
  #sendTransport: Transport | null = null;
  #recvReady: Deferred<Transport | null> = deferred();
  /** Settles the first time the call is joined (or this session gives up or closes). */
  readonly #firstJoin: Deferred<void> = deferred();
  #consumers = new Map<string, Consumer>();
  #producers = new Map<string, Producer>();
  /** producerId → still wanted, while a consume request is in flight. */
  #pendingConsumes = new Map<string, { wanted: boolean }>();
  #iceRestarting = new Set<string>();
  #iceWatchdogs = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(options: MediaSessionOptions) {
    this.participantId = options.participantId;
    this.#connect = options.connect ?? connectSignalling;
    this.#sharedSocket = options.socket ?? null;
    this.#routerCaps = options.routerRtpCapabilities ?? null;
    if (options.localStream) this.#adoptLocalStream(options.localStream);
  }

  // ---- getters ----

  get connectionState(): ConnectionState {
    if (this.#phase === 'joined') return this.#iceTrouble.size > 0 ? 'reconnecting' : 'connected';
    return this.#phase;
  }
  /** Plain-language reason when connectionState is 'failed'. */
  get failureMessage(): string | null {
    return this.#failureMessage;
  }
  get self(): PeerInfo | null {
    return this.#self;
  }
  get sessionId(): string | null {
    return this.#sessionId;
  }
  /** Whether this participant sends camera and microphone in the current stage. */
  get publishes(): boolean {
    return this.#publishes;
  }
  /** Everyone else this participant may know about (as told by the server). */
  get peers(): PeerInfo[] {
    return this.#peers;
  }
  /** Peers with their received tracks, candidate first. */
  get participants(): RemoteParticipant[] {
    return this.#participants;
  }
  get remoteTracks(): RemoteTrack[] {
    return this.#remoteTracks;
  }
  get localStream(): MediaStream | null {
    return this.#localStream;
  }
  /** The server wants this participant on stage but the page has no camera/microphone yet. */
  get needsLocalMedia(): boolean {
    return this.#phase === 'joined' && this.#publishes && this.#localStream === null;
  }
  /** A problem with the local camera/microphone during the call (e.g. unplugged). */
  get localIssue(): string | null {
    return this.#localIssue;
  }
  /** Settles once the call is first joined, or will not be: for work that can wait for the call. */
  get firstJoin(): Promise<void> {
    return this.#firstJoin.promise;
  }
  /** Rejoining because the server changed who is on stage (the day moved on): not a fault. */
  get stageChanging(): boolean {
    return this.#stageChanging && this.#phase !== 'joined' && this.#phase !== 'failed';
  }

  // ---- lifecycle ----

  /** Opens the socket (or adopts the shared one); joining happens on every (re)connect. */
  start(): void {
    if (this.#socket || this.#closed) return;
    // Loading the device creates a peer connection to read this browser's codecs: do it while
    // the socket connects, not after the join.
    if (this.#routerCaps !== null) void this.#loadDevice(this.#routerCaps).catch(() => undefined);
    const socket = this.#sharedSocket ?? this.#connect(this.participantId);
    this.#socket = socket;
    const on = <E extends keyof ServerToClientEvents | 'connect' | 'disconnect' | 'connect_error'>(
      event: E,
      handler: E extends keyof ServerToClientEvents ? ServerToClientEvents[E] : (...args: never[]) => void,
    ): void => {
      (socket as unknown as Listenable).on(event, handler as (...args: never[]) => void);
      this.#listeners.push([event, handler as (...args: never[]) => void]);
    };

    on('connect', () => {
      this.#attempts = 0;
      void this.#join();
    });
    on('disconnect', (reason: string) => {
      this.#stageChanging = false;
      this.#teardownMedia();
      if (this.#closed) return;
      if (this.#replaced) {
        this.#fail('This room is open in another tab or window, so this tab was disconnected.');
      } else if (reason === 'io server disconnect') {
        // The server ended the connection on purpose; Socket.IO does not retry by itself.
        this.#fail('The server ended this connection (for example because the room was opened in another tab).');
      } else if (this.#phase !== 'failed') {
        this.#phase = this.#joinedOnce ? 'reconnecting' : 'connecting';
      }
    });
    on('connect_error', (err: Error) => {
      if (this.#closed) return;
      if (!socket.active) {
        // Refused by the server (not a network problem): no automatic retry.
        const code = (err as Error & { data?: { code?: string } }).data?.code;
        this.#fail(code ? failureMessageFor({ code, message: err.message }) : `Could not connect: ${err.message}`);
      }
    });

    on('peerJoined', (peer) => {
      if (peer.participantId === this.participantId) return;
      this.#peers = [...this.#peers.filter((p) => p.participantId !== peer.participantId), peer];
    });
    on('peerLeft', ({ participantId }) => {
      this.#peers = this.#peers.filter((p) => p.participantId !== participantId);
      for (const t of this.#remoteTracks.filter((t) => t.participantId === participantId)) {
        this.#removeConsumer(t.consumerId);
      }
    });
    on('newProducer', (producer) => {
      void this.#consume(producer, this.#epoch);
    });
    on('producerClosed', ({ producerId }) => {
      this.#dropProducer(producerId);
    });
    on('consumerClosed', ({ consumerId, producerId }) => {
      this.#removeConsumer(consumerId);
      this.#dropProducer(producerId);
    });
    on('mediaReset', ({ reason }) => {
      console.info(`[simstudio] media reset by server (${reason}); joining again`);
      this.#stageChanging = reason === 'stage-changed';
      this.#rejoin();
    });
    on('sessionReplaced', () => {
      // The server closes this connection next; do not fight the other tab by reconnecting.
      this.#replaced = true;
      this.#fail('This room is open in another tab or window, so this tab was disconnected.');
      socket.disconnect();
    });
    on('signedOut', () => {
      // The server closes this connection next; reconnecting would only be refused.
      this.#replaced = true;
      this.#fail('Your access to this session has ended: your link was withdrawn or replaced, or you were signed out. Open the newest link you were sent, or sign in again.');
      socket.disconnect();
    });
    on('protocolError', (error) => {
      console.warn(`[simstudio] protocol error for "${error.event}": ${error.code} ${error.message}`);
    });

    // A shared socket may be connected already: join now instead of waiting for 'connect'.
    if (socket.connected) void this.#join();
    else if (this.#sharedSocket && !socket.active) {
      // The shared socket was refused or closed before media started; it will not retry by itself.
      this.#fail('Could not connect to SimStudio. Please reload the page.');
    }
  }

  /** After 'failed': try the whole connection again. */
  retry(): void {
    if (this.#closed || !this.#socket) return;
    this.#attempts = 0;
    this.#replaced = false;
    this.#failureMessage = null;
    this.#phase = this.#joinedOnce ? 'reconnecting' : 'connecting';
    if (this.#socket.connected) void this.#join();
    else this.#socket.connect();
  }

  /** Hands over camera + microphone (when asked for by needsLocalMedia) and starts sending. */
  provideLocalMedia(stream: MediaStream): void {
    if (this.#closed) return;
    this.#adoptLocalStream(stream);
    if (this.#phase === 'joined' && this.#publishes && !this.#sendTransport) {
      const epoch = this.#epoch;
      this.#startPublishing(epoch).catch((e: unknown) => {
        if (e instanceof Superseded || epoch !== this.#epoch) return;
        console.warn('[simstudio] could not start sending; joining again', e);
        this.#rejoin();
      });
    }
  }

  /**
   * Stops the local camera and microphone when they are no longer needed (the day is over).
   * Only while not sending; if the server puts this participant on stage again,
   * needsLocalMedia asks for them anew.
   */
  releaseLocalMedia(): void {
    if (this.#closed || this.#sendTransport || !this.#localStream) return;
    const stream = this.#localStream;
    this.#localStream = null;
    this.#localIssue = null;
    for (const track of stream.getTracks()) track.stop();
  }

  /** Leaves the room: closes media and (unless shared) the socket, and stops the local camera and microphone. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#firstJoin.resolve();
    this.#teardownMedia();
    const socket = this.#socket as unknown as Listenable | null;
    for (const [event, handler] of this.#listeners) socket?.off(event, handler);
    this.#listeners = [];
    if (this.#socket && this.#socket !== this.#sharedSocket) this.#socket.disconnect();
    this.#socket = null;
    for (const track of this.#localStream?.getTracks() ?? []) track.stop();
  }

  /** Receive/send counters from the consumers' and producers' getStats() (test hook). */
  async stats(): Promise<MediaStats> {
    const inbound: MediaStats['inbound'] = [];
    for (const consumer of [...this.#consumers.values()]) {
      const report = await consumer.getStats().catch(() => null);
      const entry: MediaStats['inbound'][number] = {
        kind: consumer.kind,
        participantId: String(consumer.appData.participantId ?? ''),
        bytesReceived: 0,
        packetsReceived: 0,
      };
      if (consumer.kind === 'video') entry.framesDecoded = 0;
      report?.forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp' || s.kind !== consumer.kind) return;
        entry.bytesReceived += Number(s.bytesReceived ?? 0);
        entry.packetsReceived += Number(s.packetsReceived ?? 0);
        if (entry.framesDecoded !== undefined) entry.framesDecoded += Number(s.framesDecoded ?? 0);
      });
      inbound.push(entry);
    }
    const outbound: MediaStats['outbound'] = [];
    for (const producer of [...this.#producers.values()]) {
      const report = await producer.getStats().catch(() => null);
      const entry = { kind: producer.kind, bytesSent: 0, packetsSent: 0 };
      report?.forEach((s: Record<string, unknown>) => {
        if (s.type !== 'outbound-rtp' || s.kind !== producer.kind) return;
        entry.bytesSent += Number(s.bytesSent ?? 0);
        entry.packetsSent += Number(s.packetsSent ?? 0);
      });
      outbound.push(entry);
    }
    const outboundKinds = [...new Set(outbound.filter((o) => o.bytesSent > 0).map((o) => o.kind))].sort();
    return { inbound, outboundKinds, outbound };
  }

  // ---- join flow ----

  async #join(): Promise<void> {
    if (this.#closed || !this.#socket) return;
    this.#teardownMedia();
    const epoch = this.#epoch;
    const socket = this.#socket;
    const recvReady = this.#recvReady;
    if (this.#phase !== 'failed') this.#phase = this.#joinedOnce ? 'reconnecting' : 'connecting';

    try {
      // With the router's capabilities known, receiving is part of the join (one round trip).
      const known = this.#routerCaps !== null ? await this.#loadDevice(this.#routerCaps) : null;
      this.#check(epoch);
      const joined = await request(socket, 'join', {
        protocolVersion: PROTOCOL_VERSION,
        ...(known ? { receive: { rtpCapabilities: known.rtpCapabilities as RequestPayload<'consume'>['rtpCapabilities'] } } : {}),
      });
      this.#check(epoch);
      if (!joined.ok) throw new StepError(joined.error);
      const reply = joined.data;
      this.#self = reply.self;
      this.#sessionId = reply.sessionId;
      this.#publishes = reply.publishes;
      this.#iceServers = reply.iceServers ?? [];
      this.#peers = reply.peers.filter((p) => p.participantId !== reply.self.participantId);

      const changed = JSON.stringify(reply.routerRtpCapabilities) !== this.#deviceCaps;
      this.#routerCaps = reply.routerRtpCapabilities;
      if (changed && reply.recvTransport) {
        // The page was told other capabilities than the router has (the server changed):
        // what was set up for them is dropped, and the next attempt loads the device anew.
        throw new StepError({ code: 'MEDIA_ERROR', message: 'the media server changed; joining again' });
      }
      const device = await this.#loadDevice(reply.routerRtpCapabilities);
      this.#check(epoch);

      let consumes: Array<Promise<void>>;
      if (reply.recvTransport) {
        const recv = this.#setUpTransport('recv', reply.recvTransport, device, socket, epoch);
        recvReady.resolve(recv);
        const created = new Map((reply.consumers ?? []).map((c) => [c.producerId, c]));
        // Started in one go: mediasoup-client sets up consumers asked for in the same tick in
        // one renegotiation.
        consumes = reply.producers.map((p) => {
          const consumer = created.get(p.producerId);
          return consumer ? this.#consume(p, epoch, consumer) : this.#consume(p, epoch);
        });
      } else {
        const recv = await this.#createTransport('recv', epoch);
        recvReady.resolve(recv);
        consumes = reply.producers.map((p) => this.#consume(p, epoch));
      }
      if (reply.publishes && this.#localStream) await this.#startPublishing(epoch);
      await Promise.all(consumes);
      this.#check(epoch);

      this.#phase = 'joined';
      this.#stageChanging = false;
      this.#failureMessage = null;
      this.#joinedOnce = true;
      this.#firstJoin.resolve();
      this.#attempts = 0;
    } catch (e) {
      if (e instanceof Superseded || epoch !== this.#epoch || this.#closed) return;
      const error =
        e instanceof StepError
          ? e.error
          : { code: 'MEDIA_ERROR', message: e instanceof Error ? e.message : String(e) };
      this.#joinFailed(error);
    }
  }

  /** The device, loaded with these router capabilities (again only if they changed). */
  #loadDevice(routerCaps: unknown): Promise<Device> {
    const key = JSON.stringify(routerCaps);
    if (this.#device && this.#deviceCaps === key) return this.#device;
    this.#deviceCaps = key;
    this.#deviceUse = this.#localStream ? 'sendAndReceive' : 'receive';
    const loading = loadDevice(routerCaps as RtpCapabilities, this.#deviceUse).catch(unsupportedAsStepError);
    this.#device = loading;
    // A failed load is not kept: the next join tries again.
    loading.catch(() => {
      if (this.#device === loading) {
        this.#device = null;
        this.#deviceCaps = null;
      }
    });
    return loading;
  }

  /** The device to send with: the join's own, unless that one only receives (then a full one
   *  for the same router; loadDevice keeps it, and forgets a failed load). Null: no device. */
  #deviceForSending(): Promise<Device | null> {
    if (!this.#device) return Promise.resolve(null);
    if (this.#deviceUse === 'sendAndReceive') return this.#currentDevice();
    return loadDevice(this.#routerCaps as RtpCapabilities, 'sendAndReceive').catch(unsupportedAsStepError);
  }

  #joinFailed(error: { code: string; message: string }): void {
    console.warn(`[simstudio] join failed: ${error.code} ${error.message}`);
    this.#teardownMedia();
    if (error.code === 'DISCONNECTED') return; // the socket's reconnect will join again
    if (FATAL_CODES.has(error.code)) {
      this.#fail(failureMessageFor(error));
      return;
    }
    this.#attempts += 1;
    if (this.#attempts >= MAX_JOIN_ATTEMPTS) {
      this.#fail(failureMessageFor(error));
      return;
    }
    this.#phase = this.#joinedOnce ? 'reconnecting' : 'connecting';
    const delay = Math.min(500 * 2 ** this.#attempts, 8_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#socket?.connected) void this.#join();
    }, delay);
  }

  #fail(message: string): void {
    this.#firstJoin.resolve();
    this.#teardownMedia();
    this.#phase = 'failed';
    this.#failureMessage = message;
  }

  /** Drops all media and joins again from scratch (or waits for the socket to reconnect). */
  #rejoin(): void {
    if (this.#closed) return;
    this.#teardownMedia();
    if (this.#phase !== 'failed') this.#phase = 'reconnecting';
    if (this.#socket?.connected) void this.#join();
  }

  #check(epoch: number): void {
    if (epoch !== this.#epoch || this.#closed) throw new Superseded();
  }

  async #createTransport(direction: 'send' | 'recv', epoch: number): Promise<Transport> {
    const socket = this.#socket;
    const device = direction === 'send' ? await this.#deviceForSending() : await this.#currentDevice();
    if (!socket || !device) throw new Superseded();
    const created = await request(socket, 'createTransport', { direction });
    this.#check(epoch);
    if (!created.ok) throw new StepError(created.error);
    return this.#setUpTransport(direction, created.data, device, socket, epoch);
  }

  /** The device the current join loaded (null: none yet, or loading failed). */
  #currentDevice(): Promise<Device | null> {
    return this.#device ? this.#device.catch(() => null) : Promise.resolve(null);
  }

  #setUpTransport(direction: 'send' | 'recv', created: TransportOptions, device: Device, socket: SignallingSocket, epoch: number): Transport {
    const options = { ...(created as unknown as MsTransportOptions), iceServers: this.#iceServers };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    if (direction === 'send') this.#sendTransport = transport;
    else this.#recvTransport = transport;

    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      request(socket, 'connectTransport', { transportId: transport.id, dtlsParameters }).then((r) => {
        if (r.ok) callback();
        else errback(new Error(`${r.error.code}: ${r.error.message}`));
      });
    });
    transport.on('connectionstatechange', (state) => this.#onTransportState(transport, state, epoch));
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        const source: MediaSource = appData.source === 'microphone' ? 'microphone' : 'camera';
        request(socket, 'produce', { transportId: transport.id, kind, rtpParameters, source }).then((r) => {
          if (r.ok) callback({ id: r.data.producerId });
          else errback(new StepError(r.error));
        });
      });
    }
    return transport;
  }

  async #startPublishing(epoch: number): Promise<void> {
    const stream = this.#localStream;
    const device = await this.#deviceForSending();
    if (!stream || !device) return;
    const send = this.#sendTransport ?? (await this.#createTransport('send', epoch));
    const tracks: Array<[MediaStreamTrack | undefined, MediaSource]> = [
      [stream.getVideoTracks()[0], 'camera'],
      [stream.getAudioTracks()[0], 'microphone'],
    ];
    for (const [track, source] of tracks) {
      if (!track || track.readyState !== 'live') continue;
      if (!device.canProduce(track.kind as MediaKind)) {
        throw new StepError({ code: 'MEDIA_ERROR', message: `This browser cannot send ${track.kind}` });
      }
      const producer = await send.produce({
        track,
        // The same camera/microphone tracks are reused after a rejoin: never let
        // mediasoup-client stop them when a transport closes.
        stopTracks: false,
        appData: { source },
        ...(track.kind === 'audio' ? { codecOptions: { opusFec: true, opusDtx: true } } : {}),
      });
      this.#check(epoch);
      this.#producers.set(producer.id, producer);
      producer.observer.on('close', () => this.#producers.delete(producer.id));
    }
  }

  /**
   * Receives one producer: asks the server for a consumer (paused), sets it up here, resumes it.
   * `created`: the join made the consumer already, flowing; only the local side is left to do
   * (called synchronously up to recv.consume, so a join's consumers share one renegotiation).
   */
  async #consume(info: ProducerInfo, epoch: number, created?: ConsumeReply): Promise<void> {
    if (info.participantId === this.participantId) return;
    if (this.#pendingConsumes.has(info.producerId)) return;
    if (this.#remoteTracks.some((t) => t.producerId === info.producerId)) return;
    const pending = { wanted: true };
    this.#pendingConsumes.set(info.producerId, pending);
    try {
      const socket = this.#socket;
      let recv: Transport | null;
      let reply: ConsumeReply;
      if (created) {
        recv = this.#recvTransport;
        reply = created;
        if (!recv || !socket || epoch !== this.#epoch) return;
      } else {
        recv = await this.#recvReady.promise;
        const device = await this.#currentDevice();
        if (!recv || !socket || !device || epoch !== this.#epoch || !pending.wanted) return;

        const r = await request(socket, 'consume', { producerId: info.producerId, rtpCapabilities: device.rtpCapabilities });
        if (epoch !== this.#epoch || !pending.wanted) return;
        if (!r.ok) {
          // NOT_FOUND: the producer went away meanwhile. Anything else: leave the rest of the call working.
          if (r.error.code !== 'NOT_FOUND' && r.error.code !== 'DISCONNECTED') {
            console.warn(`[simstudio] could not receive ${info.kind} of ${info.participantId}: ${r.error.code} ${r.error.message}`);
          }
          return;
        }
        reply = r.data;
      }
      const consumer = await recv.consume({
        id: reply.consumerId,
        producerId: reply.producerId,
        kind: reply.kind,
        rtpParameters: reply.rtpParameters as RtpParameters,
        appData: { participantId: reply.participantId, source: info.source },
      });
      if (epoch !== this.#epoch || !pending.wanted || recv.closed) {
        consumer.close();
        return;
      }
      this.#consumers.set(consumer.id, consumer);
      this.#remoteTracks = [
        ...this.#remoteTracks,
        {
          consumerId: consumer.id,
          producerId: reply.producerId,
          participantId: reply.participantId,
          kind: reply.kind,
          source: info.source,
          track: consumer.track,
        },
      ];
      if (created) return; // flowing already (see Room.receiveAll on the server)
      // The server created the consumer paused; resume now that the local side is ready.
      const resumed = await request(socket, 'resumeConsumer', { consumerId: consumer.id });
      if (!resumed.ok && resumed.error.code !== 'DISCONNECTED' && epoch === this.#epoch) {
        console.warn(`[simstudio] could not resume consumer ${consumer.id}: ${resumed.error.code} ${resumed.error.message}`);
      }
    } catch (e) {
      if (epoch === this.#epoch) console.warn('[simstudio] consume failed', e);
    } finally {
      if (this.#pendingConsumes.get(info.producerId) === pending) this.#pendingConsumes.delete(info.producerId);
    }
  }

  #dropProducer(producerId: string): void {
    const pending = this.#pendingConsumes.get(producerId);
    if (pending) {
      pending.wanted = false;
      this.#pendingConsumes.delete(producerId);
    }
    for (const t of this.#remoteTracks.filter((t) => t.producerId === producerId)) this.#removeConsumer(t.consumerId);
  }

  #removeConsumer(consumerId: string): void {
    this.#consumers.get(consumerId)?.close();
    this.#consumers.delete(consumerId);
    if (this.#remoteTracks.some((t) => t.consumerId === consumerId)) {
      this.#remoteTracks = this.#remoteTracks.filter((t) => t.consumerId !== consumerId);
    }
  }

  // ---- ICE ----

  #onTransportState(transport: Transport, state: TransportConnectionState, epoch: number): void {
    if (epoch !== this.#epoch || this.#closed) return;
    if (state === 'connected') {
      this.#clearIceWatchdog(transport.id);
      this.#setIceTrouble(transport.id, false);
    } else if (state === 'disconnected' || state === 'failed') {
      this.#setIceTrouble(transport.id, true);
      void this.#restartIce(transport, epoch);
    }
  }

  async #restartIce(transport: Transport, epoch: number): Promise<void> {
    const socket = this.#socket;
    if (!socket || this.#iceRestarting.has(transport.id)) return;
    this.#iceRestarting.add(transport.id);
    try {
      const r = await request(socket, 'restartIce', { transportId: transport.id });
      if (epoch !== this.#epoch || transport.closed) return;
      if (!r.ok) {
        if (r.error.code === 'DISCONNECTED') return; // reconnect will rejoin
        throw new StepError(r.error);
      }
      await transport.restartIce({ iceParameters: r.data.iceParameters as IceParameters });
      this.#clearIceWatchdog(transport.id);
      this.#iceWatchdogs.set(
        transport.id,
        setTimeout(() => {
          this.#iceWatchdogs.delete(transport.id);
          if (epoch === this.#epoch && !transport.closed && transport.connectionState !== 'connected') {
            console.warn('[simstudio] ICE did not recover; joining again');
            this.#rejoin();
          }
        }, ICE_RECOVERY_MS),
      );
    } catch (e) {
      if (epoch !== this.#epoch) return;
      console.warn('[simstudio] ICE restart failed; joining again', e);
      this.#rejoin();
    } finally {
      this.#iceRestarting.delete(transport.id);
    }
  }

  #setIceTrouble(transportId: string, trouble: boolean): void {
    if (this.#iceTrouble.has(transportId) === trouble) return;
    const next = new Set(this.#iceTrouble);
    if (trouble) next.add(transportId);
    else next.delete(transportId);
    this.#iceTrouble = next;
  }

  #clearIceWatchdog(transportId: string): void {
    const timer = this.#iceWatchdogs.get(transportId);
    if (timer) clearTimeout(timer);
    this.#iceWatchdogs.delete(transportId);
  }

  // ---- local media and teardown ----

  #adoptLocalStream(stream: MediaStream): void {
    this.#localStream = stream;
    this.#localIssue = null;
    for (const track of stream.getTracks()) {
      track.addEventListener('ended', () => {
        if (this.#closed || this.#localStream !== stream) return;
        this.#localIssue =
          track.kind === 'video'
            ? 'Your camera stopped working (was it unplugged or taken by another program?). Reload the page to set it up again.'
            : 'Your microphone stopped working (was it unplugged or taken by another program?). Reload the page to set it up again.';
      });
    }
  }

  /** Closes transports (and with them producers and consumers) locally. Local tracks survive. */
  #teardownMedia(): void {
    this.#epoch += 1;
    this.#recvReady.resolve(null);
    this.#recvReady = deferred();
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    for (const timer of this.#iceWatchdogs.values()) clearTimeout(timer);
    this.#iceWatchdogs.clear();
    this.#iceRestarting.clear();
    for (const pending of this.#pendingConsumes.values()) pending.wanted = false;
    this.#pendingConsumes.clear();
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = null;
    this.#recvTransport = null;
    this.#consumers.clear();
    this.#producers.clear();
    if (this.#remoteTracks.length > 0) this.#remoteTracks = [];
    if (this.#iceTrouble.size > 0) this.#iceTrouble = new Set();
  }
}
