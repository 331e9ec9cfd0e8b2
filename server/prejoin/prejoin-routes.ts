// HTTP routes of the pre-join check. Each acts as the signed-in participant only (their cookie),
// so nobody can probe, or store a result, for anyone else:
//   GET  /api/prejoin/info                       help contact, offered paths, my last result
//   POST /api/prejoin/probes                     { path } → a fresh server transport for that path
//   POST /api/prejoin/probes/:probeId/connect    { dtlsParameters }
//   POST /api/prejoin/probes/:probeId/produce    { kind, rtpParameters } (the real camera)
//   POST /api/prejoin/probes/:probeId/finish     → what the server received, by which protocol
//   POST /api/prejoin/result                     the whole check (size-bounded, rate-limited)
// A result whose connection step passed must name a probe of this participant that the server
// saw receive media by the path claimed.
import express from 'express';
import { z } from 'zod';
import { ProtocolFailure } from '../../shared/errors.ts';
import { DtlsParametersSchema, MediaKindSchema, RtpParametersSchema } from '../../shared/protocol-schemas.ts';
import { PREJOIN_RESULT_MAX_BYTES, firstFailedStep, type PrejoinInfo } from '../../shared/prejoin.ts';
import { PrejoinResultSchema, ProbeIdSchema, ProbeStartSchema } from '../../shared/prejoin-schemas.ts';
import type { ParticipantAuth } from '../auth/participant-auth.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { participantRoute } from '../http/participant-route.ts';
import { ROOM_ROLES } from '../../shared/roles.ts';
import type { Logger } from '../log.ts';
import type { ProbeService } from './probe-service.ts';
import type { TestCallRepo } from './test-call-repo.ts';

/** Results stored per participant per window: a page cannot fill the table. */
const MAX_RESULTS_PER_WINDOW = 10;
const RESULT_WINDOW_MS = 10 * 60_000;

export interface PrejoinRouteDeps {
  auth: ParticipantAuth;
  probes: ProbeService;
  testCalls: TestCallRepo;
  audit: AuditRepo;
  helpContact: string | null;
  log: Logger;
}

const ProbeParams = z.object({ probeId: ProbeIdSchema });
const ConnectBody = z.strictObject({ dtlsParameters: DtlsParametersSchema });
const ProduceBody = z.strictObject({ kind: MediaKindSchema, rtpParameters: RtpParametersSchema });

/** Test calls are for people in the room (an analyst has none). */
const IN_ROOM = [...ROOM_ROLES];

export function prejoinRoutes(deps: PrejoinRouteDeps): express.Router {
  const router = express.Router();
  const as = participantRoute(deps);
  router.use('/prejoin/probes', express.json({ limit: '64kb' }));
  router.use('/prejoin/result', express.json({ limit: PREJOIN_RESULT_MAX_BYTES }));

  router.get(
    '/prejoin/info',
    as((_req, res, me) => {
      const info: PrejoinInfo = {
        helpContact: deps.helpContact,
        relayConfigured: deps.probes.relayConfigured,
        paths: deps.probes.paths,
        last: deps.testCalls.latest(me.id),
      };
      res.json(info);
    }, IN_ROOM),
  );

  router.post(
    '/prejoin/probes',
    as(async (req, res, me) => {
      const { path } = ProbeStartSchema.parse(req.body);
      res.status(201).json(await deps.probes.start(me, path));
    }, IN_ROOM),
  );

  router.post(
    '/prejoin/probes/:probeId/connect',
    as(async (req, res, me) => {
      const { probeId } = ProbeParams.parse(req.params);
      const { dtlsParameters } = ConnectBody.parse(req.body);
      await mediaStep(() => deps.probes.connect(me, probeId, dtlsParameters));
      res.json({});
    }, IN_ROOM),
  );

  router.post(
    '/prejoin/probes/:probeId/produce',
    as(async (req, res, me) => {
      const { probeId } = ProbeParams.parse(req.params);
      const { kind, rtpParameters } = ProduceBody.parse(req.body);
      res.json(await mediaStep(() => deps.probes.produce(me, probeId, kind, rtpParameters)));
    }, IN_ROOM),
  );

  router.post(
    '/prejoin/probes/:probeId/finish',
    as(async (req, res, me) => {
      const { probeId } = ProbeParams.parse(req.params);
      res.json(await mediaStep(() => deps.probes.finish(me, probeId)));
    }, IN_ROOM),
  );

  router.post(
    '/prejoin/result',
    as((req, res, me) => {
      const result = PrejoinResultSchema.parse(req.body);
      const now = Date.now();
      if (deps.testCalls.countSince(me.id, now - RESULT_WINDOW_MS) >= MAX_RESULTS_PER_WINDOW) {
        throw new ProtocolFailure('RATE_LIMITED', 'too many test calls stored in ten minutes; try again later');
      }
      if (result.browser.missing.length > 0 && result.steps.browser === 'passed') {
        throw new ProtocolFailure('INVALID_PAYLOAD', 'a browser that lacks a feature the studio needs cannot pass');
      }
      const { connection } = result;
      if (result.steps.connection === 'passed') {
        const verified = result.probeId ? deps.probes.takeVerified(me.id, result.probeId) : undefined;
        if (!verified || verified.path !== connection.path) {
          deps.log.warn({ participantId: me.id, claimed: connection.path }, 'test call refused: no matching connection test');
          throw new ProtocolFailure('CONFLICT', 'this result names a connection test the server did not see succeed; run the test again');
        }
      } else if (connection.path !== null) {
        throw new ProtocolFailure('INVALID_PAYLOAD', 'a failed connection step has no path');
      }
      const failedStep = firstFailedStep(result.steps);
      const summary = deps.testCalls.add({ participantId: me.id, sessionId: me.sessionId, at: now, passed: failedStep === null, failedStep, result });
      deps.audit.append({
        sessionId: me.sessionId,
        actorParticipantId: me.id,
        action: 'prejoin.tested',
        detail: { passed: summary.passed, failedStep, path: summary.path },
      });
      res.status(201).json(summary);
    }, IN_ROOM),
  );

  return router;
}

/** mediasoup refuses bad parameters with a plain Error: that is the client's fault (400). */
async function mediaStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ProtocolFailure) throw error;
    throw new ProtocolFailure('MEDIA_ERROR', (error as Error).message.slice(0, 300));
  }
}
