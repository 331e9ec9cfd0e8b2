// Passkeys in real Chromium (issue 13), with its virtual authenticator (CDP WebAuthn: a
// platform authenticator holding discoverable credentials, verifying the user): a member of
// staff signs in by the email link, adds a passkey on their page, signs out, and signs in with
// the passkey alone; once they remove it, it signs them in no more. The studio serves on
// localhost: WebAuthn wants a secure context and a domain for the relying party (an IP
// address is not one).
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Person } from '../../shared/people.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser, pollUntil } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;
let organisationId: string;
let person: Person;
const EMAIL = 'priya.shah@northshire.example';

beforeAll(async () => {
  studio = await startTestStudio({ host: 'localhost' });
  browser = await launchBrowser();
  organisationId = studio.people.createOrganisation('Northshire Council').id;
  person = studio.people.create(organisationId, { displayName: 'Priya Shah', email: EMAIL, roles: ['leadObserver'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
});

async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

/** The link of the newest sign-in email to `EMAIL`, as the person would click it. */
function latestSignInLink(): string {
  const mail = studio.mailer.list(organisationId).find((m) => m.to === EMAIL && m.kind === 'signin-link');
  const link = mail && /https?:\/\/\S+\/auth\/magic\/\S+/.exec(mail.text)?.[0];
  if (!link) throw new Error('no sign-in email');
  return link;
}

describe('passkeys in Chromium', () => {
  it('a member of staff adds a passkey, signs out, and signs in with the passkey alone', async () => {
    expect(new URL(studio.baseUrl).hostname).toBe('localhost');
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    const { cdp, authenticatorId } = await virtualAuthenticator(page);

    // Signed in by the email link first: only a signed-in person may add a passkey.
    await page.goto(`${studio.baseUrl}/signin`);
    await page.getByTestId('signin-email').fill(EMAIL);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('signin-sent').waitFor();
    await page.goto(latestSignInLink());
    await page.waitForURL(`${studio.baseUrl}/staff`);
    await page.getByTestId('staff-name').getByText('Priya Shah').waitFor();
    await page.getByTestId('no-passkeys').waitFor();

    expect(await axeViolations(page)).toEqual([]);

    await page.getByTestId('passkey-add').click();
    await page.getByTestId('passkey-message').getByText('Passkey added').waitFor();
    await expect.poll(() => page.getByTestId('passkeys').locator('li').count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    const held = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    expect(held).toHaveLength(1);
    expect(held[0]!.isResidentCredential).toBe(true);
    const stored = studio.db.prepare('SELECT id, person_id FROM passkey_credentials').all() as Array<{ id: string; person_id: string }>;
    expect(stored).toEqual([{ id: Buffer.from(held[0]!.credentialId, 'base64').toString('base64url'), person_id: person.id }]);

    await page.getByTestId('sign-out').click();
    await page.waitForURL(`${studio.baseUrl}/signin`);
    // Nothing of the email sign-in is left in this browser: the passkey alone signs in.
    await context.clearCookies();
    expect((await page.request.get(`${studio.baseUrl}/api/staff/me`)).status()).toBe(401);

    expect(await axeViolations(page)).toEqual([]);
    await page.getByTestId('passkey-sign-in').click();
    await page.waitForURL(`${studio.baseUrl}/staff`);
    await page.getByTestId('staff-name').getByText('Priya Shah').waitFor();
    const signIns = studio.audit.listForOrganisation(organisationId, { action: 'signin.succeeded', personId: person.id }).map((e) => e.detail.method);
    expect(signIns).toEqual(['passkey', 'magic-link']);
    // The page now tells when the passkey was last used.
    await expect.poll(() => page.getByTestId('passkeys').locator('li').first().textContent(), { timeout: 20_000 }).toMatch(/last used (?!never)\S/);

    // Removed on the page, the passkey the device still holds is refused.
    await page.getByRole('button', { name: 'Remove passkey 1' }).click();
    await page.getByTestId('no-passkeys').waitFor();
    await page.getByTestId('sign-out').click();
    await page.waitForURL(`${studio.baseUrl}/signin`);
    await page.getByTestId('passkey-sign-in').click();
    const refusal = await pollUntil('the refusal shown', 20_000, async () => ((await page.getByTestId('passkey-error').count()) > 0 ? page.getByTestId('passkey-error').textContent() : undefined));
    expect(refusal).toMatch(/unknown passkey/i);
    expect(page.url()).toBe(`${studio.baseUrl}/signin`);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
