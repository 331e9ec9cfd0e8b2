// The connection test against the real media server: for each path the server offers (UDP,
// then TCP, then a TURN relay when one is configured) a fresh server transport is opened and
// the real camera is sent over it. The first path that connects is measured for a few seconds
// — round trip and upload — from the browser's own statistics, and the server says what it
// received and by which protocol.
import { Device } from 'mediasoup-client';
import type { DtlsParameters, RtpCapabilities, RtpParameters, TransportOptions } from 'mediasoup-client/types';
import { GOOD_RTT_MS, GOOD_UPLOAD_KBPS, PROBE_PATHS, type PrejoinResult, type ProbePath, type ProbeReport, type ProbeStartReply } from '../../shared/prejoin.ts';
import type { ParticipantApi } from '../lib/participant-api.ts';

/** How long a path may take to connect before the next is tried. */
const CONNECT_TIMEOUT_MS = 8_000;
/** How long the connected path is measured. */
const MEASURE_MS = 3_000;

export type PathOutcome = PrejoinResult['connection']['tried'][number]['outcome'];

export interface ConnectionOutcome {
  path: ProbePath | null;
  probeId: string | null;
  tried: Array<{ path: ProbePath; outcome: PathOutcome }>;
  rttMs: number | null;
  uploadKbps: number | null;
  quality: 'good' | 'slow' | 'none';
}

interface Attempt {
  outcome: PathOutcome;
  probeId: string | null;
  rttMs: number | null;
  uploadKbps: number | null;
}

export async function testConnection(
  api: ParticipantApi,
  offered: readonly ProbePath[],
  track: MediaStreamTrack,
  onTrying: (path: ProbePath) => void,
): Promise<ConnectionOutcome> {
  const tried: ConnectionOutcome['tried'] = [];
  for (const path of PROBE_PATHS) {
    if (!offered.includes(path)) {
      tried.push({ path, outcome: 'not-offered' });
      continue;
    }
    onTrying(path);
    const attempt = await tryPath(api, path, track);
    tried.push({ path, outcome: attempt.outcome });
    if (attempt.outcome === 'connected') {
      const slow =
        (attempt.uploadKbps !== null && attempt.uploadKbps < GOOD_UPLOAD_KBPS) || (attempt.rttMs !== null && attempt.rttMs > GOOD_RTT_MS);
      return { path, probeId: attempt.probeId, tried, rttMs: attempt.rttMs, uploadKbps: attempt.uploadKbps, quality: slow ? 'slow' : 'good' };
    }
  }
  return { path: null, probeId: null, tried, rttMs: null, uploadKbps: null, quality: 'none' };
}

async function tryPath(api: ParticipantApi, path: ProbePath, track: MediaStreamTrack): Promise<Attempt> {
  const failed: Attempt = { outcome: 'failed', probeId: null, rttMs: null, uploadKbps: null };
  const started = await api.post<ProbeStartReply>('/prejoin/probes', { path });
  if (!started.ok) return started.code === 'CONFLICT' ? { ...failed, outcome: 'not-offered' } : failed;
  const probe = started.data;
  const probeUrl = `/prejoin/probes/${probe.probeId}`;
  const sent = track.clone();
  let transport: ReturnType<Device['createSendTransport']> | null = null;
  try {
    const device = await Device.factory();
    await device.load({ routerRtpCapabilities: probe.routerRtpCapabilities as RtpCapabilities });
    transport = device.createSendTransport({
      ...(probe.transport as unknown as TransportOptions),
      iceServers: probe.iceServers,
      iceTransportPolicy: path === 'relay' ? 'relay' : 'all',
    });
    transport.on('connect', ({ dtlsParameters }: { dtlsParameters: DtlsParameters }, callback, errback) => {
      void api.post(`${probeUrl}/connect`, { dtlsParameters }).then((r) => (r.ok ? callback() : errback(new Error(r.message))));
    });
    transport.on('produce', ({ kind, rtpParameters }: { kind: string; rtpParameters: RtpParameters }, callback, errback) => {
      void api
        .post<{ producerId: string }>(`${probeUrl}/produce`, { kind, rtpParameters })
        .then((r) => (r.ok ? callback({ id: r.data.producerId }) : errback(new Error(r.message))));
    });
    const t = transport;
    const connected = new Promise<boolean>((resolve) => {
      t.on('connectionstatechange', (state) => {
        if (state === 'connected') resolve(true);
        if (state === 'failed' || state === 'closed') resolve(false);
      });
      setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    });
    await transport.produce({ track: sent });
    if (!(await connected)) {
      await api.post(`${probeUrl}/finish`, {});
      return { ...failed, probeId: probe.probeId };
    }
    const before = await sample(transport.getStats());
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    const after = await sample(transport.getStats());
    const seconds = (after.at - before.at) / 1000;
    const sentKbps = seconds > 0 ? Math.round(((after.bytesSent - before.bytesSent) * 8) / 1000 / seconds) : 0;
    const estimateKbps = after.availableOutgoingBitrate === null ? 0 : Math.round(after.availableOutgoingBitrate / 1000);
    const report = await api.post<ProbeReport>(`${probeUrl}/finish`, {});
    const received = report.ok && report.data.connected && report.data.bytesReceived > 0;
    return {
      outcome: received ? 'connected' : 'failed',
      probeId: probe.probeId,
      rttMs: after.rttMs,
      // What the link carried, or what the browser's estimator says it could: the larger.
      uploadKbps: Math.max(sentKbps, estimateKbps),
    };
  } catch (error) {
    console.warn(`[simstudio] connection test over ${path} failed`, error);
    await api.post(`${probeUrl}/finish`, {}).catch(() => undefined);
    return { ...failed, probeId: probe.probeId };
  } finally {
    transport?.close();
    sent.stop();
  }
}

interface StatsSample {
  at: number;
  bytesSent: number;
  rttMs: number | null;
  availableOutgoingBitrate: number | null;
}

/** Bytes sent, and the selected candidate pair's round trip and bandwidth estimate. */
async function sample(statsPromise: Promise<RTCStatsReport>): Promise<StatsSample> {
  const stats = await statsPromise;
  let bytesSent = 0;
  let pairRtt: number | null = null;
  let rtcpRtt: number | null = null;
  let available: number | null = null;
  let selectedPairId: string | null = null;
  stats.forEach((s: Record<string, unknown>) => {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') selectedPairId = s.selectedCandidatePairId;
  });
  stats.forEach((s: Record<string, unknown>) => {
    if (s.type === 'outbound-rtp') bytesSent += Number(s.bytesSent ?? 0);
    if (s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number') rtcpRtt = s.roundTripTime;
    const selected = selectedPairId ? s.id === selectedPairId : s.nominated === true && s.state === 'succeeded';
    if (s.type === 'candidate-pair' && selected) {
      if (typeof s.currentRoundTripTime === 'number') pairRtt = s.currentRoundTripTime;
      if (typeof s.availableOutgoingBitrate === 'number') available = s.availableOutgoingBitrate;
    }
  });
  const rtt: number | null = pairRtt ?? rtcpRtt;
  return { at: performance.now(), bytesSent, rttMs: rtt === null ? null : Math.round(rtt * 1000), availableOutgoingBitrate: available };
}
