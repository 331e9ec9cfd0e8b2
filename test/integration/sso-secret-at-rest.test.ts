// An organisation's single sign-on client secret is stored sealed under the studio's signing
// secret: one an older studio stored in the clear is sealed at the next start and still signs
// in; under a changed studio secret it does not open, single sign-on is refused (not attempted
// with garbage), and the administrator is told to enter it again. A sealed value moved to
// another organisation's row does not open there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { STAFF_COOKIE, type OrgSsoResponse } from '../../shared/people.ts';
import { SecretBox, SecretUnreadable } from '../../server/identity/secret-box.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

const FIRST_SECRET = 'first-studio-secret-0123456789abcdef';
const CHANGED_SECRET = 'changed-studio-secret-0123456789abcd';
const CLIENT_SECRET = 'client-secret-from-the-provider-XYZ';
let running: TestStudio | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function adminView(studio: TestStudio, adminId: string): Promise<OrgSsoResponse> {
  const { secret } = studio.staffSessions.create(adminId, 'magic-link', 'test');
  const response = await fetch(`${studio.baseUrl}/api/org/sso`, { headers: { cookie: `${STAFF_COOKIE}=${secret}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as OrgSsoResponse;
}

const storedSecret = (studio: TestStudio, organisationId: string): string =>
  (studio.db.prepare('SELECT client_secret FROM organisation_sso WHERE organisation_id = ?').get(organisationId) as { client_secret: string }).client_secret;

it('seals a client secret stored in the clear; a changed studio secret refuses single sign-on and tells the administrator', { timeout: 120_000 }, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-sso-secret-'));
  running = await startTestStudio({ secret: FIRST_SECRET }, dataDir);
  const organisation = running.people.createOrganisation('Northshire');
  const admin = running.people.create(organisation.id, { displayName: 'Ada Admin', email: 'ada@northshire.example', roles: ['administrator'] });
  // As a studio before sealing stored it.
  running.db
    .prepare('INSERT INTO organisation_sso (organisation_id, issuer, client_id, client_secret, updated_at) VALUES (?, ?, ?, ?, ?)')
    .run(organisation.id, 'https://idp.northshire.example', 'simstudio', CLIENT_SECRET, new Date().toISOString());
  await running.close();

  // The next start seals it; it opens under the same studio secret, bound to its organisation.
  running = await startTestStudio({ secret: FIRST_SECRET }, dataDir);
  const sealed = storedSecret(running, organisation.id);
  expect(sealed).toMatch(/^sealed:v1:/);
  expect(sealed).not.toContain(CLIENT_SECRET);
  const box = new SecretBox(new TextEncoder().encode(FIRST_SECRET), 'oidc client secret');
  expect(box.open(sealed, organisation.id)).toBe(CLIENT_SECRET);
  expect(() => box.open(sealed, 'another-organisation')).toThrow(SecretUnreadable);
  expect(await adminView(running, admin.id)).toMatchObject({ configured: true, secretReadable: true });
  expect(running.logLines.some((l) => String(l.msg).includes('sealed'))).toBe(true);
  await running.close();

  // The studio's secret changed: sign-in is refused at the start, the row kept, the admin told.
  running = await startTestStudio({ secret: CHANGED_SECRET }, dataDir);
  const start = await fetch(`${running.baseUrl}/auth/oidc/start?organisation=${organisation.id}`, { redirect: 'manual' });
  expect(start.status).toBe(303);
  expect(start.headers.get('location')).toBe('/signin?error=oidc');
  expect(running.logLines.some((l) => String(l.msg).includes('does not open'))).toBe(true);
  expect(storedSecret(running, organisation.id)).toBe(sealed);
  expect(await adminView(running, admin.id)).toMatchObject({ configured: true, secretReadable: false });
});

it('refuses a tampered sealed value and one sealed for another purpose', () => {
  const secret = new TextEncoder().encode(FIRST_SECRET);
  const box = new SecretBox(secret, 'oidc client secret');
  const sealed = box.seal(CLIENT_SECRET, 'org-1');
  expect(sealed).not.toBe(box.seal(CLIENT_SECRET, 'org-1')); // a fresh IV each time
  const body = Buffer.from(sealed.slice('sealed:v1:'.length), 'base64url');
  body[body.length - 20]! ^= 1;
  expect(() => box.open(`sealed:v1:${body.toString('base64url')}`, 'org-1')).toThrow(SecretUnreadable);
  expect(() => new SecretBox(secret, 'another purpose').open(sealed, 'org-1')).toThrow(SecretUnreadable);
  expect(() => box.open(CLIENT_SECRET, 'org-1')).toThrow(SecretUnreadable);
});
