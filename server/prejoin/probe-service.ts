// Connection probes for the pre-join check: a real WebRtcTransport on a router of its own
// (never the session's room, so a test call before the day disturbs nobody), offering one
// path only — UDP, or TCP, or both behind the browser's TURN relay — so that the browser
// learns which path its network lets through. The browser sends its real camera for a few
// seconds; the server remembers which probe really received media, by which path, so that a
// stored result can only claim a path that connected.
import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import type { Participant } from '../../shared/domain.ts';
import { ProtocolFailure } from '../../shared/errors.ts';
import type { IceServer } from '../../shared/protocol.ts';
import type { ProbePath, ProbeReport, ProbeStartReply } from '../../shared/prejoin.ts';
import { MEDIA_CODECS } from '../../media/codecs.ts';
import type { PooledWorker } from '../../media/worker-pool.ts';
import type { MediaConfig } from '../config.ts';
import type { Logger } from '../log.ts';

/** A probe lives at most this long: the check needs about ten seconds. */
const PROBE_LIFETIME_MS = 30_000;
/** Probes at once across the studio: each is a router and a transport on a worker. */
const MAX_LIVE_PROBES = 24;
/** Probe starts per participant per minute (three paths per test, a few retries). */
const MAX_STARTS_PER_MINUTE = 12;
/** How long a probe that received media can back a stored result. */
const VERIFIED_FOR_MS = 15 * 60_000;
const MAX_PRODUCERS_PER_PROBE = 2;

interface Probe {
  id: string;
  participantId: string;
  path: ProbePath;
  router: types.Router;
  transport: types.WebRtcTransport;
  producers: number;
  timer: NodeJS.Timeout;
}

/** A probe the server saw receive media. */
export interface VerifiedProbe {
  path: ProbePath;
  protocol: 'udp' | 'tcp';
  bytesReceived: number;
  at: number;
}

export interface ProbeServiceDeps {
  pickWorker: () => PooledWorker;
  media: MediaConfig;
  iceServers: IceServer[];
  log: Logger;
}

export class ProbeService {
  private readonly deps: ProbeServiceDeps;
  private readonly log: Logger;
  private readonly probes = new Map<string, Probe>();
  private readonly starts = new Map<string, number[]>();
  private readonly verified = new Map<string, Map<string, VerifiedProbe>>();

  constructor(deps: ProbeServiceDeps) {
    this.deps = deps;
    this.log = deps.log.child({ module: 'prejoin-probe' });
  }

  /** The paths this server offers, in the order they are tried. */
  get paths(): ProbePath[] {
    const paths: ProbePath[] = [];
    if (this.deps.media.enableUdp) paths.push('udp');
    if (this.deps.media.enableTcp) paths.push('tcp');
    if (this.relayConfigured) paths.push('relay');
    return paths;
  }

  get relayConfigured(): boolean {
    return this.deps.iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
  }

  async start(participant: Participant, path: ProbePath): Promise<ProbeStartReply> {
    if (!this.paths.includes(path)) throw new ProtocolFailure('CONFLICT', `this studio does not offer the ${path} path`);
    this.countStart(participant.id);
    // One probe per participant: a new one replaces the last (the page moved to the next path).
    for (const probe of this.probes.values()) if (probe.participantId === participant.id) this.closeProbe(probe);
    if (this.probes.size >= MAX_LIVE_PROBES) throw new ProtocolFailure('RATE_LIMITED', 'many connection tests are running; try again in a minute');
    const pooled = this.deps.pickWorker();
    const router = await pooled.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    let transport: types.WebRtcTransport;
    try {
      transport = await router.createWebRtcTransport({ ...this.listenOptions(pooled, path), initialAvailableOutgoingBitrate: 1_000_000 });
    } catch (error) {
      router.close();
      throw error;
    }
    const id = randomUUID();
    const probe: Probe = {
      id,
      participantId: participant.id,
      path,
      router,
      transport,
      producers: 0,
      timer: setTimeout(() => this.closeProbe(probe), PROBE_LIFETIME_MS),
    };
    this.probes.set(id, probe);
    router.observer.once('close', () => {
      clearTimeout(probe.timer);
      this.probes.delete(id);
    });
    return {
      probeId: id,
      routerRtpCapabilities: router.rtpCapabilities,
      transport: {
        id: transport.id,
        iceParameters: transport.iceParameters,
        iceCandidates: transport.iceCandidates,
        dtlsParameters: transport.dtlsParameters,
      },
      iceServers: path === 'relay' ? this.deps.iceServers : [],
    };
  }

  async connect(participant: Participant, probeId: string, dtlsParameters: unknown): Promise<void> {
    const probe = this.probe(participant, probeId);
    await probe.transport.connect({ dtlsParameters: dtlsParameters as types.DtlsParameters });
  }

  async produce(participant: Participant, probeId: string, kind: 'audio' | 'video', rtpParameters: unknown): Promise<{ producerId: string }> {
    const probe = this.probe(participant, probeId);
    if (probe.producers >= MAX_PRODUCERS_PER_PROBE) throw new ProtocolFailure('FORBIDDEN', `at most ${MAX_PRODUCERS_PER_PROBE} tracks per connection test`);
    probe.producers += 1;
    const producer = await probe.transport.produce({ kind, rtpParameters: rtpParameters as types.RtpParameters });
    return { producerId: producer.id };
  }

  /** Ends a probe and says what the server saw; a probe that received media is remembered. */
  async finish(participant: Participant, probeId: string): Promise<ProbeReport> {
    const probe = this.probe(participant, probeId);
    let report: ProbeReport = { connected: false, protocol: null, bytesReceived: 0 };
    try {
      const [stats] = await probe.transport.getStats();
      const tuple = probe.transport.iceSelectedTuple;
      const protocol = tuple?.protocol === 'udp' || tuple?.protocol === 'tcp' ? tuple.protocol : null;
      const connected = probe.transport.iceState === 'connected' || probe.transport.iceState === 'completed';
      report = { connected, protocol, bytesReceived: stats?.rtpBytesReceived ?? 0 };
    } finally {
      this.closeProbe(probe);
    }
    if (report.connected && report.protocol && report.bytesReceived > 0) {
      this.remember(participant.id, probeId, { path: probe.path, protocol: report.protocol, bytesReceived: report.bytesReceived, at: Date.now() });
    }
    return report;
  }

  /** A probe of this participant that received media recently (each backs one result). */
  takeVerified(participantId: string, probeId: string): VerifiedProbe | undefined {
    const mine = this.verified.get(participantId);
    const found = mine?.get(probeId);
    if (!found || Date.now() - found.at > VERIFIED_FOR_MS) return undefined;
    mine!.delete(probeId);
    return found;
  }

  close(): void {
    for (const probe of [...this.probes.values()]) this.closeProbe(probe);
  }

  // ---- internals ----

  private probe(participant: Participant, probeId: string): Probe {
    const probe = this.probes.get(probeId);
    // Another participant's probe looks the same as none.
    if (!probe || probe.participantId !== participant.id) throw new ProtocolFailure('NOT_FOUND', 'no such connection test of yours (it may have timed out)');
    return probe;
  }

  private closeProbe(probe: Probe): void {
    clearTimeout(probe.timer);
    this.probes.delete(probe.id);
    if (!probe.router.closed) probe.router.close();
  }

  private countStart(participantId: string): void {
    const now = Date.now();
    const recent = (this.starts.get(participantId) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= MAX_STARTS_PER_MINUTE) {
      this.log.warn({ participantId }, 'connection test refused: too many starts');
      throw new ProtocolFailure('RATE_LIMITED', 'too many connection tests in a minute; wait a moment and try again');
    }
    recent.push(now);
    this.starts.set(participantId, recent);
    // Forget people who have not probed for a minute, so the map stays the size of the traffic.
    if (this.starts.size > 1000) {
      for (const [id, times] of this.starts) if (times.every((t) => now - t >= 60_000)) this.starts.delete(id);
    }
  }

  private remember(participantId: string, probeId: string, verified: VerifiedProbe): void {
    const mine = this.verified.get(participantId) ?? new Map<string, VerifiedProbe>();
    mine.set(probeId, verified);
    // Keep the last few only: a page that probes again and again cannot grow this.
    while (mine.size > 4) mine.delete(mine.keys().next().value!);
    this.verified.set(participantId, mine);
  }

  /** UDP only, TCP only, or (relay) both: the browser then allows relayed candidates only. */
  private listenOptions(pooled: PooledWorker, path: ProbePath): types.WebRtcTransportOptions {
    const { media } = this.deps;
    const enableUdp = path === 'udp' || (path === 'relay' && media.enableUdp);
    const enableTcp = path === 'tcp' || (path === 'relay' && media.enableTcp);
    const common = { enableUdp, enableTcp, preferUdp: enableUdp, preferTcp: !enableUdp };
    if (pooled.webRtcServer) return { webRtcServer: pooled.webRtcServer, ...common };
    const portRange = { min: media.minPort, max: media.maxPort };
    const listenInfos: types.TransportListenInfo[] = [];
    if (enableUdp) listenInfos.push({ protocol: 'udp', ip: media.listenIp, announcedAddress: media.announcedAddress, portRange });
    if (enableTcp) listenInfos.push({ protocol: 'tcp', ip: media.listenIp, announcedAddress: media.announcedAddress, portRange });
    return { listenInfos, ...common };
  }
}
