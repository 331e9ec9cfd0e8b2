// `npm run admin -- <command> [options]`: organisations, administrators and sign-in, from the
// machine the studio runs on (the server need not be running; a running one sees the changes
// at once). Links point at SIMSTUDIO_PUBLIC_URL or the configured host and port.
//   list-organisations
//   create-organisation --name NAME --admin-name NAME --admin-email EMAIL
//   add-person --organisation ID --name NAME --email EMAIL --role ROLE [--role ROLE…]
//   list-people --organisation ID
//   sign-in-link --email EMAIL [--organisation ID]   (ends their sign-ins; prints a one-time link)
//   retention-run [--organisation ID] [--dry-run]    (deletes or pseudonymises what is past its period; prints the report)
//   audit-verify                                     (checks the audit log's hash chain; exit code 1 when it does not hold)
//   subject-access --person ID --out FILE   (the person's subject access archive, a zip; see
//                                            server/data-protection/subject-access.ts)
//   rotate-recording-key [--new-key BASE64]   (studio stopped; rewraps every recording's key)
// Exit code 2 with one line on stderr for bad input.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { EmailSchema, NewPersonSchema, type Person } from '../shared/people.ts';
import { ProtocolFailure } from '../shared/errors.ts';
import { loadConfig } from './config.ts';
import { MagicLinks } from './identity/magic-links.ts';
import { StaffSessions } from './identity/staff-sessions.ts';
import { PeopleRepo } from './people/people-repo.ts';
import { baseUrlFor, openAssessment, openData, openDataProtection, openModeration } from './studio.ts';
import { verifyAuditChain } from './data-protection/audit-chain.ts';
import { SubjectAccessCommandSchema } from '../shared/subject-access.ts';
import { DocStore } from './collab/doc-store.ts';
import { collectSubjectAccess } from './data-protection/subject-access.ts';
import { writeSubjectAccessArchive } from './data-protection/subject-access-archive.ts';
import { createLogger } from './log.ts';
import { WrittenExercise } from './written/written-exercise.ts';
import { rotateRecordingKeyCommand } from './recording/rotate-command.ts';
import { checkRecordingKey, loadOrCreateRecordingKey } from './recording/recording-key.ts';
import { openDecrypting } from './recording/recording-cipher.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    name: { type: 'string' },
    'admin-name': { type: 'string' },
    'admin-email': { type: 'string' },
    organisation: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean' },
    person: { type: 'string' },
    out: { type: 'string' },
    'new-key': { type: 'string' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const config = loadConfig();
const data = openData(config);
const people = new PeopleRepo(data.db);
const magicLinks = new MagicLinks(data.db);
const staffSessions = new StaffSessions({ db: data.db, people, timeouts: config.staffSessions });
const baseUrl = baseUrlFor(config, config.port);
const operator = { personId: null, name: 'npm run admin', role: 'operator' };

const linkFor = (person: Person): string => `${baseUrl}/auth/magic/${magicLinks.issue(person.id, 'admin-link', null)}`;
const organisationOf = (id: string | undefined) => {
  if (!id) fail('--organisation ID is required (see list-organisations)');
  return people.organisation(id) ?? fail(`no organisation ${id}`);
};
const out = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

try {
  switch (positionals[0]) {
    case 'list-organisations':
      out(people.organisations());
      break;
    case 'create-organisation': {
      const input = NewPersonSchema.parse({ displayName: args['admin-name'] ?? '', email: args['admin-email'], roles: ['administrator'] });
      if (!args.name) fail('--name is required');
      const organisation = people.createOrganisation(args.name);
      const admin = people.create(organisation.id, input);
      data.audit.append({ person: { ...operator, organisationId: organisation.id }, action: 'organisation.created', detail: { administrator: admin.id } });
      out({ organisation, administrator: admin, signInLink: linkFor(admin) });
      break;
    }
    case 'add-person': {
      const organisation = organisationOf(args.organisation);
      const person = people.create(organisation.id, NewPersonSchema.parse({ displayName: args.name ?? '', email: args.email, roles: args.role ?? [] }));
      data.audit.append({ person: { ...operator, organisationId: organisation.id }, action: 'person.created', detail: { personId: person.id, roles: person.roles } });
      out(person);
      break;
    }
    case 'list-people':
      out(people.list(organisationOf(args.organisation).id));
      break;
    case 'sign-in-link': {
      const email = EmailSchema.safeParse(args.email);
      if (!email.success) fail('--email must be an email address');
      const matches = people.everyWithEmail(email.data).filter((p) => !args.organisation || p.organisationId === args.organisation);
      if (matches.length === 0) fail(`nobody with ${email.data}${args.organisation ? ' in that organisation' : ''}`);
      if (matches.length > 1) fail(`${email.data} is in ${matches.length} organisations: add --organisation ID`);
      const person = matches[0]!;
      const ended = staffSessions.revokeAll(person.id);
      data.audit.append({ person: { ...operator, organisationId: person.organisationId }, action: 'signin.reset', detail: { personId: person.id, signInsEnded: ended } });
      out({ person: person.displayName, signInsEnded: ended, signInLink: linkFor(person) });
      break;
    }
    case 'retention-run': {
      const organisationId = args.organisation ? organisationOf(args.organisation).id : undefined;
      const report = openDataProtection(config, data).runRetention({ ...(organisationId ? { organisationId } : {}), dryRun: args['dry-run'] ?? false, trigger: 'npm run admin' });
      out(report);
      break;
    }
    case 'audit-verify': {
      const verdict = verifyAuditChain(data.db);
      out(verdict);
      if (!verdict.ok) process.exitCode = 1;
      break;
    }
    case 'subject-access': {
      const input = SubjectAccessCommandSchema.parse({ person: args.person ?? '', out: args.out ?? '' });
      const subject = people.get(input.person) ?? fail(`no person ${input.person}`);
      // Moderation over the stored documents: the export reads what the running studio has stored.
      const log = createLogger('warn');
      const assessment = openAssessment(data, log);
      const store = new DocStore(data.db);
      const written = new WrittenExercise({ db: data.db, store, assessment, audit: data.audit, log }, config.written);
      const moderation = openModeration(data, { assessment, store, written, log });
      const recordingsDir = path.join(config.dataDir, 'recordings');
      try {
        const collected = collectSubjectAccess({ db: data.db, people, sessions: data.sessions, moderation, recordingsDir }, subject.organisationId, subject.id, (_subject, counts) =>
          data.audit.append({ person: { ...operator, organisationId: subject.organisationId }, action: 'subject_access.exported', detail: { personId: subject.id, ...counts } }),
        );
        const file = path.resolve(input.out);
        // The archive holds everything about a person: readable by the operator only.
        const key = loadOrCreateRecordingKey(config.dataDir, config.recordingKey);
        checkRecordingKey(data.db, key);
        const openRecording = async (file: string) => (await openDecrypting(file, key)).stream;
        const summary = await writeSubjectAccessArchive({ moderation, recordingsDir, openRecording }, collected, fs.createWriteStream(file, { mode: 0o600 }));
        fs.chmodSync(file, 0o600);
        out({ person: subject.displayName, file, bytes: summary.bytes, reports: summary.reports, recordings: summary.recordings, entries: summary.entries });
      } finally {
        assessment.close();
      }
      break;
    }
    case 'rotate-recording-key': {
      const result = rotateRecordingKeyCommand(config, data.db, args['new-key']);
      data.audit.append({ job: 'npm run admin -- rotate-recording-key', action: 'recording.key-rotated', detail: { ...result.outcome, fingerprint: result.fingerprint } });
      out(result);
      break;
    }
    default:
      fail('usage: npm run admin -- list-organisations | create-organisation | add-person | list-people | sign-in-link | subject-access | rotate-recording-key | retention-run | audit-verify (see server/admin-cli.ts)');
  }
} catch (error) {
  if (error instanceof z.ZodError) fail(error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
  if (error instanceof ProtocolFailure) fail(error.message);
  throw error;
} finally {
  data.db.close();
}
