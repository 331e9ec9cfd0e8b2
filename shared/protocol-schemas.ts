// The signalling protocol's schemas: every request payload is checked with these at the
// server's boundary. The protocol's types, events and constants are in protocol.ts.
// Kept apart from it so that the browser's room, which imports that module on its way to the
// first picture, does not load zod (client/lib/zod-browser.ts).
import { z } from 'zod';
import type { RequestName } from './protocol.ts';
import { DayControlSchema } from './assessment-schemas.ts';

// ---- shapes of mediasoup parameters (checked structurally here, deeply by mediasoup) ----

const Id = z.string().min(1).max(64);
const looseObject = z.looseObject({});

export const DtlsParametersSchema = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  // The algorithms mediasoup knows (anything else it refuses with an error logged as a fault).
  fingerprints: z
    .array(z.looseObject({ algorithm: z.enum(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']), value: z.string().regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){19,63}$/) }))
    .min(1)
    .max(8),
});

export const RtpParametersSchema = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z.array(looseObject).min(1).max(32),
  headerExtensions: z.array(looseObject).max(64).optional(),
  encodings: z.array(looseObject).max(8).optional(),
  rtcp: looseObject.optional(),
});

export const RtpCapabilitiesSchema = z.looseObject({
  codecs: z.array(looseObject).max(128).optional(),
  headerExtensions: z.array(looseObject).max(128).optional(),
});

export const MediaKindSchema = z.enum(['audio', 'video']);
export const MediaSourceSchema = z.enum(['camera', 'microphone']);

// ---- requests (client → server), each with its reply type ----

export const requestSchemas = {
  join: z.strictObject({
    protocolVersion: z.number().int(),
    /** Receive in the same request: the reply brings a receive transport and a consumer for
     *  each producer this participant may receive (see JoinReply). The page knows the router's
     *  capabilities before it joins (PageBoot), so its device can be loaded by then. */
    receive: z.strictObject({ rtpCapabilities: RtpCapabilitiesSchema }).optional(),
  }),
  createTransport: z.strictObject({ direction: z.enum(['send', 'recv']) }),
  connectTransport: z.strictObject({ transportId: Id, dtlsParameters: DtlsParametersSchema }),
  restartIce: z.strictObject({ transportId: Id }),
  produce: z.strictObject({
    transportId: Id,
    kind: MediaKindSchema,
    rtpParameters: RtpParametersSchema,
    source: MediaSourceSchema,
  }),
  closeProducer: z.strictObject({ producerId: Id }),
  consume: z.strictObject({ producerId: Id, rtpCapabilities: RtpCapabilitiesSchema }),
  resumeConsumer: z.strictObject({ consumerId: Id }),
  /** Lead observer or coordinator: start, advance, pause, resume, extend the assessment day. */
  dayControl: DayControlSchema,
  /** One clock sample (NTP-style): the client corrects its countdowns by the offset. */
  clockSync: z.strictObject({ clientSentAt: z.number().finite() }),
  /** An actor tells the lead observer (and coordinator) something without speaking in the scene. */
  signalLead: z.strictObject({ kind: z.enum(['needPause', 'technicalProblem', 'ready']) }),
} as const;
export const REQUEST_NAMES = Object.keys(requestSchemas) as RequestName[];

export const IceServersSchema = z.array(
  z.strictObject({
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  }),
);

/** What the client passes in the Socket.IO handshake. */
export const HandshakeAuthSchema = z.strictObject({ participantId: Id });
