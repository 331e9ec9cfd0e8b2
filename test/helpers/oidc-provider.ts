// A real OpenID provider (oidc-provider, the certified OP library) on a free port in this
// process, with one confidential client and a few test accounts, and a "browser" that walks
// its login and consent pages as the chosen account would, up to the relying party's callback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type InteractionResults } from 'oidc-provider';
import type { OidcSettings } from '../../server/identity/oidc.ts';

export interface TestAccount {
  sub: string;
  email: string;
  name: string;
}

export interface TestOidcProvider {
  issuer: string;
  /** What the relying party is configured with (issuer, client id and secret). */
  settings: OidcSettings;
  /** Requests for the discovery document so far. */
  discoveryRequests: number;
  /** The account that logs in at the provider's login page (a `sub` of `accounts`). */
  loginAs: string;
  /** Whether the account declines at the consent page. */
  declineConsent: boolean;
  /** Follows the provider's redirects from `authorizationUrl`, keeping its cookies (fresh for
   *  each call: a new browser), until it is sent to `redirectUri`; returns that callback URL. */
  browseToCallback(authorizationUrl: string, redirectUri: string): Promise<URL>;
  close(): Promise<void>;
}

export async function startOidcProvider(options: { redirectUris: string[]; accounts: TestAccount[]; clientId?: string; clientSecret?: string }): Promise<TestOidcProvider> {
  const clientId = options.clientId ?? 'simstudio';
  const clientSecret = options.clientSecret ?? 'a-client-secret-only-this-test-knows';
  const accounts = new Map(options.accounts.map((a) => [a.sub, a]));
  let provider: Provider | undefined;

  // Listen first: the provider needs its own URL (the issuer) when it is made.
  const server: Server = createServer((req, res) => void route(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-key' }] },
    cookies: { keys: ['cookie-signing-key-for-this-test-only'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    ttl: { IdToken: 600, AccessToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const account = accounts.get(id);
      return account ? { accountId: id, claims: () => ({ sub: id, email: account.email, email_verified: true, name: account.name }) } : undefined;
    },
  });

  const state: TestOidcProvider = {
    issuer,
    settings: { issuer, clientId, clientSecret },
    discoveryRequests: 0,
    loginAs: options.accounts[0]?.sub ?? '',
    declineConsent: false,
    browseToCallback,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url === '/.well-known/openid-configuration') state.discoveryRequests++;
    if (req.url?.startsWith('/interaction/')) {
      try {
        await interact(req, res);
      } catch (error) {
        res.writeHead(500).end(String(error));
      }
      return;
    }
    provider!.callback()(req, res);
  }

  /** The provider's login and consent pages, reduced to what the test account would do on them. */
  async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const op = provider!;
    const details = await op.interactionDetails(req, res);
    let result: InteractionResults;
    if (details.prompt.name === 'login') {
      result = { login: { accountId: state.loginAs } };
    } else if (state.declineConsent) {
      result = { error: 'access_denied', error_description: 'End-User declined the request' };
    } else {
      const grant = new op.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
      const missingScope = details.prompt.details.missingOIDCScope as string[] | undefined;
      const missingClaims = details.prompt.details.missingOIDCClaims as string[] | undefined;
      if (missingScope) grant.addOIDCScope(missingScope.join(' '));
      if (missingClaims) grant.addOIDCClaims(missingClaims);
      result = { consent: { grantId: await grant.save() } };
    }
    await op.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  async function browseToCallback(authorizationUrl: string, redirectUri: string): Promise<URL> {
    const cookies = new Map<string, string>();
    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < 12; hop++) {
      if (`${url.origin}${url.pathname}` === redirectUri) return url;
      const response = await fetch(url, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
      });
      for (const header of response.headers.getSetCookie()) {
        const [pair = ''] = header.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(header)) cookies.delete(name);
        else cookies.set(name, value);
      }
      const body = await response.text();
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) throw new Error(`the provider stopped at ${url.pathname} with ${response.status}: ${body.slice(0, 300)}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects at the provider');
  }

  return state;
}
