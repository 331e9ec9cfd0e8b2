// OpenID Connect sign-in against a real provider (oidc-provider, the certified OP library) run
// in this process: the whole authorization code flow over real HTTP, and the attacks issue 13
// names — a forged or swapped state, a replayed code, a token for another nonce, a refusal at
// the provider — each refused with its own reason.
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  beginSignIn,
  completeSignIn,
  forgetDiscoveredProviders,
  oidcRedirectUri,
  OIDC_HTTP_TIMEOUT_SECONDS,
  OIDC_PENDING_SECONDS,
  type OidcPending,
  type OidcSettings,
} from '../../server/identity/oidc.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';

const ACCOUNT = { sub: 'staff-7f3a', email: 'Lee.Observer@Example.org', name: 'Lee Observer' };
const CLIENT_ID = 'simstudio';
const CLIENT_SECRET = 'a-client-secret-only-this-test-knows';
// The studio is never contacted: the browser's journey stops at its callback URL.
const REDIRECT_URI = oidcRedirectUri('https://studio.example.org/');

let op: TestOidcProvider;
let settings: OidcSettings;

beforeAll(async () => {
  op = await startOidcProvider({ redirectUris: [REDIRECT_URI], accounts: [ACCOUNT], clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  settings = op.settings;
});

afterAll(async () => {
  await op.close();
});

beforeEach(() => {
  op.declineConsent = false;
});

const browseToCallback = (authorizationUrl: string): Promise<URL> => op.browseToCallback(authorizationUrl, REDIRECT_URI);

async function startAndSignIn(): Promise<{ pending: OidcPending; callback: URL; url: string }> {
  const begun = await beginSignIn(settings, REDIRECT_URI);
  if (!begun.ok) throw new Error(`beginSignIn failed: ${begun.detail}`);
  return { pending: begun.pending, url: begun.url, callback: await browseToCallback(begun.url) };
}

describe('OpenID Connect sign-in against a real provider', () => {
  it('asks for a PKCE S256 code with a fresh state and nonce, and signs the account in', async () => {
    const first = await startAndSignIn();
    const second = await beginSignIn(settings, REDIRECT_URI);
    if (!second.ok) throw new Error(second.detail);

    const query = new URL(first.url).searchParams;
    expect(query.get('client_id')).toBe(CLIENT_ID);
    expect(query.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(query.get('response_type')).toBe('code');
    expect(query.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email']));
    expect(query.get('state')).toBe(first.pending.state);
    expect(query.get('nonce')).toBe(first.pending.nonce);
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('code_challenge')).toBe(createHash('sha256').update(first.pending.codeVerifier).digest('base64url'));
    expect(first.pending.expiresAt - Date.now()).toBeGreaterThan((OIDC_PENDING_SECONDS - 60) * 1000);
    // Every attempt has its own secrets.
    expect(second.pending.state).not.toBe(first.pending.state);
    expect(second.pending.nonce).not.toBe(first.pending.nonce);
    expect(second.pending.codeVerifier).not.toBe(first.pending.codeVerifier);
    // The provider says who issued the response (RFC 9207), which openid-client checks.
    expect(first.callback.searchParams.get('iss')).toBe(settings.issuer);

    const result = await completeSignIn(settings, REDIRECT_URI, first.pending, first.callback);
    expect(result).toEqual({ ok: true, issuer: settings.issuer, subject: ACCOUNT.sub, email: 'lee.observer@example.org', emailVerified: true, name: ACCOUNT.name });
  });

  it('refuses a replayed callback: the provider exchanges a code once', async () => {
    const { pending, callback } = await startAndSignIn();
    expect((await completeSignIn(settings, REDIRECT_URI, pending, callback)).ok).toBe(true);

    const replay = await completeSignIn(settings, REDIRECT_URI, pending, callback);
    expect(replay).toMatchObject({ ok: false, reason: 'provider', message: expect.stringMatching(/already used/) });
    expect(replay.ok === false && replay.detail).toMatch(/invalid_grant/);
  });

  it('refuses a tampered state before the code reaches the provider', async () => {
    const { pending, callback } = await startAndSignIn();
    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${pending.state.slice(0, -1)}${pending.state.endsWith('A') ? 'B' : 'A'}`);
    const withoutState = new URL(callback);
    withoutState.searchParams.delete('state');

    for (const forged of [tampered, withoutState]) {
      const refused = await completeSignIn(settings, REDIRECT_URI, pending, forged);
      expect(refused).toMatchObject({ ok: false, reason: 'state', message: expect.stringMatching(/does not match the sign-in you started/) });
    }
    // Nothing was spent: the genuine callback still signs in.
    expect(await completeSignIn(settings, REDIRECT_URI, pending, callback)).toMatchObject({ ok: true, subject: ACCOUNT.sub });
  });

  it('refuses a callback from another attempt (an attacker’s code in the victim’s browser)', async () => {
    const victim = await beginSignIn(settings, REDIRECT_URI);
    if (!victim.ok) throw new Error(victim.detail);
    const attacker = await startAndSignIn();

    const refused = await completeSignIn(settings, REDIRECT_URI, victim.pending, attacker.callback);
    expect(refused).toMatchObject({ ok: false, reason: 'state' });
  });

  it('refuses an ID token whose nonce is not the pending one', async () => {
    const { pending, callback } = await startAndSignIn();
    const otherNonce = { ...pending, nonce: `${pending.nonce.slice(0, -2)}zz` };

    const refused = await completeSignIn(settings, REDIRECT_URI, otherNonce, callback);
    expect(refused).toMatchObject({ ok: false, reason: 'nonce', message: expect.stringMatching(/not issued for this sign-in/) });
  });

  it('refuses a code presented without its PKCE verifier', async () => {
    const { pending, callback } = await startAndSignIn();
    const otherVerifier = { ...pending, codeVerifier: 'x'.repeat(43) };

    const refused = await completeSignIn(settings, REDIRECT_URI, otherVerifier, callback);
    expect(refused).toMatchObject({ ok: false, reason: 'provider' });
    expect(refused.ok === false && refused.detail).toMatch(/invalid_grant/);
  });

  it('passes on a refusal at the provider (access_denied) with a message', async () => {
    op.declineConsent = true;
    const { pending, callback } = await startAndSignIn();
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.has('code')).toBe(false);

    const refused = await completeSignIn(settings, REDIRECT_URI, pending, callback);
    expect(refused).toMatchObject({ ok: false, reason: 'provider', message: expect.stringMatching(/did not sign you in/) });
    expect(refused.ok === false && refused.detail).toBe('authorization error: access_denied (End-User declined the request)');
  });

  it('refuses when the provider does not accept the client secret', async () => {
    const { pending, callback } = await startAndSignIn();
    const wrongSecret = { ...settings, clientSecret: 'not-the-secret-the-provider-has' };

    const refused = await completeSignIn(wrongSecret, REDIRECT_URI, pending, callback);
    expect(refused).toMatchObject({ ok: false, reason: 'provider', message: expect.stringMatching(/refused SimStudio’s credentials/) });
    expect(refused.ok === false && refused.detail).toMatch(/invalid_client/);
  });

  it('refuses an expired, malformed or foreign pending attempt without asking the provider', async () => {
    const { pending, callback } = await startAndSignIn();
    const expired = { ...pending, expiresAt: Date.now() - 1 };
    const malformed = { state: pending.state } as unknown as OidcPending;
    const foreign = { ...pending, issuer: 'https://idp.example.org' };

    expect(await completeSignIn(settings, REDIRECT_URI, expired, callback)).toMatchObject({ ok: false, reason: 'state', message: expect.stringMatching(/expired/) });
    expect(await completeSignIn(settings, REDIRECT_URI, malformed, callback)).toMatchObject({ ok: false, reason: 'state' });
    expect(await completeSignIn(settings, REDIRECT_URI, foreign, callback)).toMatchObject({ ok: false, reason: 'state' });
    expect(await completeSignIn(settings, REDIRECT_URI, pending, new URL(REDIRECT_URI))).toMatchObject({ ok: false, reason: 'state' });
    expect(await completeSignIn(settings, 'not a url', pending, callback)).toMatchObject({ ok: false, reason: 'error' });
    // None of them spent the code.
    expect(await completeSignIn(settings, REDIRECT_URI, pending, callback)).toMatchObject({ ok: true, subject: ACCOUNT.sub });
  });

  it('discovers a provider once and reuses it', async () => {
    forgetDiscoveredProviders();
    op.discoveryRequests = 0;
    const first = await startAndSignIn();
    const second = await startAndSignIn();
    expect(await completeSignIn(settings, REDIRECT_URI, first.pending, first.callback)).toMatchObject({ ok: true });
    expect(await completeSignIn(settings, REDIRECT_URI, second.pending, second.callback)).toMatchObject({ ok: true });
    expect(op.discoveryRequests).toBe(1);
  });
});

describe('provider settings', () => {
  it('refuses a plain-http issuer that is not this machine, without contacting it', async () => {
    const begun = await beginSignIn({ issuer: 'http://idp.example.org', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, REDIRECT_URI);
    expect(begun).toMatchObject({ ok: false, reason: 'error', message: expect.stringMatching(/not set up correctly/) });
    expect(begun.ok === false && begun.detail).toMatch(/https/);
  });

  it('reports an unreachable provider instead of throwing', async () => {
    const closed = createHttpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const begun = await beginSignIn({ issuer: `http://127.0.0.1:${port}`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, REDIRECT_URI);
    expect(begun).toMatchObject({ ok: false, reason: 'error', message: expect.stringMatching(/could not be reached/) });
  });

  it('gives up on a provider that accepts the connection but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const startedAt = Date.now();
      const begun = await beginSignIn({ issuer: `http://127.0.0.1:${port}`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, REDIRECT_URI);
      expect(begun).toMatchObject({ ok: false, reason: 'error', message: expect.stringMatching(/could not be reached/) });
      expect(begun.ok === false && begun.detail).toMatch(/timed out/);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(OIDC_HTTP_TIMEOUT_SECONDS * 1000 - 100);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
