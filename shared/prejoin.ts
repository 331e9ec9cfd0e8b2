// The pre-join check ("test call"): what the browser found out about its camera, microphone,
// speakers, browser and connection to the media server, as sent to the server and shown on
// the coordinator's board. The connection part is checked against the probe the server itself
// ran for this participant (server/prejoin/), so a page cannot claim a path that never connected.
import type { z } from 'zod';
import type { ProbePathSchema, PrejoinStepSchema, StepOutcomeSchema, BrowserFeatureSchema, PrejoinResultSchema } from './prejoin-schemas.ts';

/** The order in which paths are tried: the first that connects is the one the call will use. */
export const PROBE_PATHS = ['udp', 'tcp', 'relay'] as const;
export type ProbePath = z.infer<typeof ProbePathSchema>;

export const PROBE_PATH_LABELS: Record<ProbePath, string> = { udp: 'UDP', tcp: 'TCP', relay: 'TURN relay' };

/** The checks in the order a person goes through them (and a failure is named by). */
export const PREJOIN_STEPS = ['browser', 'camera', 'microphone', 'speakers', 'connection'] as const;
export type PrejoinStep = z.infer<typeof PrejoinStepSchema>;

export const PREJOIN_STEP_LABELS: Record<PrejoinStep, string> = {
  browser: 'browser',
  camera: 'camera',
  microphone: 'microphone',
  speakers: 'speakers',
  connection: 'connection',
};
export type StepOutcome = z.infer<typeof StepOutcomeSchema>;

/** Browser features the studio needs. */
export const BROWSER_FEATURES = ['RTCPeerConnection', 'getUserMedia', 'WebAudio', 'VP8', 'Opus'] as const;
export type BrowserFeature = z.infer<typeof BrowserFeatureSchema>;

/** Upload below this, or a round trip above the next, is called slow. */
export const GOOD_UPLOAD_KBPS = 500;
export const GOOD_RTT_MS = 300;
export type PrejoinResult = z.infer<typeof PrejoinResultSchema>;

/** Largest accepted result body: a real one is well under 1 kB. */
export const PREJOIN_RESULT_MAX_BYTES = 4 * 1024;

/** A stored test call, as the server answers it and the board shows it. */
export interface TestCallSummary {
  passed: boolean;
  /** The first step that failed (null when passed). */
  failedStep: PrejoinStep | null;
  path: ProbePath | null;
  rttMs: number | null;
  uploadKbps: number | null;
  browser: string;
  /** Server clock, ms. */
  at: number;
}

/** What the probe endpoint answers: a fresh server transport to test one path against. */
export interface ProbeStartReply {
  probeId: string;
  routerRtpCapabilities: unknown;
  transport: { id: string; iceParameters: unknown; iceCandidates: unknown[]; dtlsParameters: unknown };
  /** Only for the relay path: the TURN servers to force the connection through. */
  iceServers: Array<{ urls: string | string[]; username?: string; credential?: string }>;
}

/** What the server saw of a probe: the path by which media really arrived, and how much. */
export interface ProbeReport {
  connected: boolean;
  /** The selected ICE tuple's protocol on the server ('udp' for relay over UDP). */
  protocol: 'udp' | 'tcp' | null;
  bytesReceived: number;
}

/** What the pre-join page needs to know before it starts (GET /api/prejoin/info). */
export interface PrejoinInfo {
  /** Who to call or write to when something does not work (SIMSTUDIO_HELP_CONTACT). */
  helpContact: string | null;
  /** Whether a TURN relay is configured (the relay path is tried only then). */
  relayConfigured: boolean;
  /** Paths the server offers (TCP may be switched off). */
  paths: ProbePath[];
  /** This participant's last stored test call. */
  last: TestCallSummary | null;
}

/** A result's one-line summary on the board, e.g. "passed 29 Nov 14:02, UDP, 38 ms, 1.4 Mbit/s". */
export function describeTestCall(t: TestCallSummary | null, formatTime: (ms: number) => string): string {
  if (!t) return 'not done';
  if (!t.passed) return `failed ${formatTime(t.at)}: ${t.failedStep ? PREJOIN_STEP_LABELS[t.failedStep] : 'unknown step'}`;
  const parts = [`passed ${formatTime(t.at)}`];
  if (t.path) parts.push(PROBE_PATH_LABELS[t.path]);
  if (t.rttMs !== null) parts.push(`${t.rttMs} ms`);
  if (t.uploadKbps !== null) parts.push(formatKbps(t.uploadKbps));
  return parts.join(', ');
}

export function formatKbps(kbps: number): string {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
}

/** The steps of a result in their order, the first failure first. */
export function firstFailedStep(steps: PrejoinResult['steps']): PrejoinStep | null {
  return PREJOIN_STEPS.find((s) => steps[s] === 'failed') ?? null;
}
