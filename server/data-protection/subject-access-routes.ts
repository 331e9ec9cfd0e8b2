// GET /api/org/people/:personId/subject-access: an administrator or coordinator downloads the
// subject access archive of a person of their own organisation (another organisation's person
// is as absent as one that does not exist). Audited before the first byte is sent.
import express, { type Request, type Response, type NextFunction } from 'express';
import { parseCookie } from 'cookie';
import { ProtocolFailure } from '../../shared/errors.ts';
import { STAFF_COOKIE, type OrgRole } from '../../shared/people.ts';
import { SubjectAccessParamsSchema, subjectAccessFileName } from '../../shared/subject-access.ts';
import type { AuditRepo } from '../db/audit-repo.ts';
import { sendApiError } from '../http/app.ts';
import { auditPerson } from '../identity/sign-in-cookie.ts';
import type { StaffSessions } from '../identity/staff-sessions.ts';
import type { Logger } from '../log.ts';
import { collectSubjectAccess, type SubjectAccessDeps } from './subject-access.ts';
import { writeSubjectAccessArchive, type ArchiveDeps } from './subject-access-archive.ts';

export interface SubjectAccessRouteDeps extends SubjectAccessDeps, ArchiveDeps {
  staffSessions: StaffSessions;
  audit: AuditRepo;
  log: Logger;
}

const EXPORTERS: readonly OrgRole[] = ['administrator', 'coordinator'];

export function subjectAccessRoutes(deps: SubjectAccessRouteDeps): express.Router {
  const router = express.Router();

  router.get('/org/people/:personId/subject-access', async (req: Request, res: Response, next: NextFunction) => {
    const secret = req.headers.cookie ? parseCookie(req.headers.cookie)[STAFF_COOKIE] : undefined;
    const auth = deps.staffSessions.verify(secret);
    if (!auth.ok) return sendApiError(res, 401, 'UNAUTHENTICATED', auth.reason === 'expired' ? 'Your sign-in has expired: sign in again.' : 'You are not signed in.');
    const viewer = auth.person;
    if (!EXPORTERS.some((r) => viewer.roles.includes(r))) {
      deps.audit.append({ person: auditPerson(viewer), action: 'access.refused', detail: { path: req.path } });
      return sendApiError(res, 403, 'FORBIDDEN', `this needs the ${EXPORTERS.join(' or ')} role`);
    }
    const params = SubjectAccessParamsSchema.safeParse(req.params);
    if (!params.success) return sendApiError(res, 404, 'NOT_FOUND', 'no such person');
    let data;
    try {
      data = collectSubjectAccess(deps, viewer.organisationId, params.data.personId, (subject, counts) =>
        deps.audit.append({ person: auditPerson(viewer), action: 'subject_access.exported', detail: { personId: subject.id, ...counts } }),
      );
    } catch (error) {
      if (error instanceof ProtocolFailure && error.code === 'NOT_FOUND') return sendApiError(res, 404, 'NOT_FOUND', error.message);
      return next(error);
    }
    const subject = data.person.person;
    res
      .status(200)
      .type('application/zip')
      .set('Content-Disposition', `attachment; filename="${subjectAccessFileName(subject.displayName, new Date(data.person.exportedAt))}"`)
      .set('Cache-Control', 'private, no-store');
    try {
      const summary = await writeSubjectAccessArchive(deps, data, res);
      deps.log.info({ personId: subject.id, bytes: summary.bytes, recordings: summary.recordings }, 'subject access archive sent');
    } catch (error) {
      if (!res.headersSent) return next(error);
      // Part of the archive is gone: the connection is cut (writeSubjectAccessArchive destroyed
      // it), so the download fails visibly rather than ending as a short zip.
      deps.log.error({ personId: subject.id, err: (error as Error).message }, 'subject access archive failed part way');
    }
  });

  return router;
}
