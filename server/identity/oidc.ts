// OpenID Connect sign-in for staff (issue 13): SimStudio is the relying party, each organisation
// names its own provider (Entra ID, Google Workspace, Keycloak...). Security model:
// - authorization code flow with PKCE (S256), a random state and a random nonce per attempt; the
//   caller keeps them server-side (`OidcPending`) and binds them to the browser that started;
// - the callback is refused before any request to the provider unless its state is the pending
//   one (CSRF / login fixation), and refused after the exchange unless the ID token carries the
//   pending nonce (a token minted for another request); a code is exchanged at most once by the
//   provider, so a replayed callback is refused by it;
// - openid-client checks the ID token's signature, issuer, audience, expiry and the RFC 9207 `iss`
//   response parameter (provider mix-up);
// - nothing here throws for bad input: every refusal is `{ ok: false, reason, message }` so the
//   route can audit it and change nothing.
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { z } from 'zod';

/** One organisation's provider, as an administrator registers SimStudio there. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

/** Plain http is allowed for loopback issuers only (see `isLoopbackHttp`). */
export const OidcSettingsSchema = z.strictObject({
  issuer: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .refine((s) => new URL(s).protocol === 'https:' || isLoopbackHttp(new URL(s)), 'the issuer must use https'),
  clientId: z.string().trim().min(1).max(512),
  clientSecret: z.string().min(1).max(2048),
});

/** What the caller keeps server-side between `beginSignIn` and `completeSignIn`. Never sent to
 *  the browser as is: it holds the PKCE verifier. `expiresAt` is epoch milliseconds. */
export interface OidcPending {
  issuer: string;
  clientId: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  expiresAt: number;
}

/** For callers that store a pending attempt as JSON: parse it back with this before use. */
export const OidcPendingSchema = z.strictObject({
  issuer: z.string().min(1).max(2048),
  clientId: z.string().min(1).max(512),
  state: z.string().min(16).max(256),
  nonce: z.string().min(16).max(256),
  codeVerifier: z.string().min(43).max(128),
  expiresAt: z.number().int(),
});

/** Long enough to sign in at the provider (with MFA), short enough that a stolen record is stale. */
export const OIDC_PENDING_SECONDS = 10 * 60;
/** Per HTTP request to the provider (discovery, token, JWKS, userinfo). */
export const OIDC_HTTP_TIMEOUT_SECONDS = 10;
/** Provider metadata is re-discovered after this, so key rotation and endpoint moves are picked up. */
export const OIDC_DISCOVERY_TTL_MS = 60 * 60 * 1000;

export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';
const SCOPE = 'openid email profile';

export function oidcRedirectUri(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${OIDC_CALLBACK_PATH}`;
}

export type OidcFailureReason = 'state' | 'nonce' | 'error' | 'provider';

export interface OidcFailure {
  ok: false;
  reason: OidcFailureReason;
  /** For the person signing in. */
  message: string;
  /** For the audit row and the log: what the library or the provider said. */
  detail: string;
}

export type OidcBegin = { ok: true; url: string; pending: OidcPending } | OidcFailure;

export type OidcSignIn =
  | {
      ok: true;
      issuer: string;
      subject: string;
      email: string;
      /** False when the provider does not vouch for the address (Entra ID never sends the claim). */
      emailVerified: boolean;
      name?: string;
    }
  | OidcFailure;

/** Starts one sign-in attempt: the URL to send the browser to, and what to keep until it comes back. */
export async function beginSignIn(settings: OidcSettings, redirectUri: string): Promise<OidcBegin> {
  return begin(settings, redirectUri).catch(unexpected);
}

async function begin(settings: OidcSettings, redirectUri: string): Promise<OidcBegin> {
  const config = await configurationFor(settings);
  if (!config.ok) return config;
  const pending: OidcPending = {
    issuer: settings.issuer,
    clientId: settings.clientId,
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
    expiresAt: Date.now() + OIDC_PENDING_SECONDS * 1000,
  };
  const url = client.buildAuthorizationUrl(config.config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: 'S256',
  });
  return { ok: true, url: url.href, pending };
}

/** Finishes the attempt from the URL the provider sent the browser back to. Only the query of
 *  `callbackUrl` is read: the redirect URI sent to the token endpoint is `redirectUri`, so a proxy
 *  that rewrites the host does not break the exchange. */
export async function completeSignIn(settings: OidcSettings, redirectUri: string, pending: OidcPending, callbackUrl: URL): Promise<OidcSignIn> {
  return complete(settings, redirectUri, pending, callbackUrl).catch(unexpected);
}

async function complete(settings: OidcSettings, redirectUri: string, pending: OidcPending, callbackUrl: URL): Promise<OidcSignIn> {
  const parsed = OidcPendingSchema.safeParse(pending);
  if (!parsed.success) return refuse('state', 'This sign-in attempt is not valid. Please start signing in again.', 'malformed pending attempt');
  if (parsed.data.issuer !== settings.issuer || parsed.data.clientId !== settings.clientId) {
    return refuse('state', 'This sign-in was started for another identity provider. Please start signing in again.', 'pending attempt belongs to another provider');
  }
  if (Date.now() > parsed.data.expiresAt) {
    return refuse('state', 'This sign-in attempt took too long and has expired. Please start signing in again.', 'pending attempt expired');
  }
  const params = callbackUrl.searchParams;
  // Checked here, before anything reaches the provider, so a forged callback costs nothing and
  // is told apart from the provider's own refusals.
  if (params.get('state') !== parsed.data.state) {
    return refuse('state', 'This sign-in response does not match the sign-in you started in this browser. Please start signing in again.', params.has('state') ? 'state mismatch' : 'state missing');
  }
  const providerError = params.get('error');
  if (providerError !== null) {
    return refuse('provider', 'Your organisation’s sign-in service did not sign you in (it was cancelled or refused). Please try again, or ask your administrator.', `authorization error: ${printable(providerError)}${describe(params.get('error_description'))}`);
  }

  const config = await configurationFor(settings);
  if (!config.ok) return config;
  const response = new URL(redirectUri);
  response.search = params.toString();
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(config.config, response, {
      expectedState: parsed.data.state,
      expectedNonce: parsed.data.nonce,
      pkceCodeVerifier: parsed.data.codeVerifier,
    });
  } catch (error) {
    return exchangeFailure(error);
  }
  const idToken = tokens.claims();
  if (!idToken) return refuse('error', 'Your organisation’s sign-in service did not say who you are. Please ask your administrator.', 'no ID token');

  let claims: Record<string, unknown> = idToken;
  // Providers that follow the spec strictly (oidc-provider, Keycloak on request) put the email
  // claims in the userinfo response only, not in the ID token.
  if (typeof idToken.email !== 'string' && config.config.serverMetadata().userinfo_endpoint) {
    try {
      claims = { ...(await client.fetchUserInfo(config.config, tokens.access_token, idToken.sub)), ...idToken };
    } catch (error) {
      return exchangeFailure(error);
    }
  }
  const email = claims.email;
  if (typeof email !== 'string' || email.length === 0 || email.length > 254) {
    return refuse('provider', 'Your organisation’s sign-in service did not share your email address, so SimStudio cannot tell who you are. Please ask your administrator.', 'no email claim');
  }
  const name = typeof claims.name === 'string' && claims.name.trim() !== '' ? claims.name.trim().slice(0, 120) : undefined;
  return {
    ok: true,
    issuer: idToken.iss,
    subject: idToken.sub,
    email: email.toLowerCase(),
    // Some providers (older Cognito) send the boolean as a string.
    emailVerified: claims.email_verified === true || claims.email_verified === 'true',
    ...(name === undefined ? {} : { name }),
  };
}

/** The one catch-all, so a caller's bad argument (an unparsable redirect URI...) is a refusal, not a throw. */
function unexpected(error: unknown): OidcFailure {
  return refuse('error', 'Signing in with your organisation’s sign-in service failed. Please try again, or ask your administrator.', technical(error));
}

function exchangeFailure(error: unknown): OidcFailure {
  // The provider answered the token (or userinfo) request with an OAuth error: in the body, or,
  // when it refuses the client's HTTP Basic credentials, in a WWW-Authenticate challenge.
  if (error instanceof client.ResponseBodyError) return providerRefusal(error.error, error.error_description ?? null);
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0]?.parameters;
    return providerRefusal(challenge?.error ?? (error.status === 401 ? 'invalid_client' : `HTTP ${error.status}`), challenge?.error_description ?? null);
  }
  if (isNonceMismatch(error)) {
    return refuse('nonce', 'The identity returned was not issued for this sign-in attempt. Please start signing in again.', 'ID token nonce mismatch');
  }
  return refuse('error', 'Signing in with your organisation’s sign-in service failed. Please try again in a moment, or ask your administrator.', technical(error));
}

function providerRefusal(code: string, description: string | null): OidcFailure {
  const detail = `token error: ${printable(code)}${describe(description)}`;
  if (code === 'invalid_grant') {
    return refuse('provider', 'This sign-in response was already used or has expired. Please start signing in again.', detail);
  }
  if (code === 'invalid_client' || code === 'unauthorized_client') {
    return refuse('provider', 'Your organisation’s sign-in service refused SimStudio’s credentials. Please ask your administrator to check the single sign-on settings.', detail);
  }
  return refuse('provider', 'Your organisation’s sign-in service refused the sign-in. Please try again, or ask your administrator.', detail);
}

/** openid-client wraps oauth4webapi's claim check: ClientError → OperationProcessingError → { claim }. */
function isNonceMismatch(error: unknown): boolean {
  if (!(error instanceof client.ClientError) || error.code !== 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') return false;
  const inner = (error.cause as { cause?: { claim?: unknown } } | undefined)?.cause;
  return inner?.claim === 'nonce';
}

// --- provider metadata, one Configuration per (issuer, client) ---------------------------------

type ConfigResult = { ok: true; config: client.Configuration } | OidcFailure;

interface CachedConfiguration {
  config: Promise<client.Configuration>;
  expiresAt: number;
}

// Keeping the Configuration (not just the metadata) also keeps openid-client's JWKS cache, so the
// provider's keys are not fetched on every sign-in. Keyed by a hash of the secret so a rotated
// secret gets a fresh entry and the key itself holds no secret.
const configurations = new Map<string, CachedConfiguration>();

async function configurationFor(settings: OidcSettings): Promise<ConfigResult> {
  const valid = OidcSettingsSchema.safeParse(settings);
  if (!valid.success) {
    return refuse('error', 'Single sign-on is not set up correctly for your organisation. Please ask your administrator.', `invalid settings: ${valid.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const key = [settings.issuer, settings.clientId, createHash('sha256').update(settings.clientSecret).digest('base64url')].join('\n');
  const now = Date.now();
  let cached = configurations.get(key);
  if (!cached || cached.expiresAt <= now) {
    for (const [k, entry] of configurations) if (entry.expiresAt <= now) configurations.delete(k);
    cached = { config: discover(settings), expiresAt: now + OIDC_DISCOVERY_TTL_MS };
    configurations.set(key, cached);
  }
  try {
    return { ok: true, config: await cached.config };
  } catch (error) {
    // A failed discovery is not cached: the next attempt asks again.
    if (configurations.get(key) === cached) configurations.delete(key);
    return refuse('error', 'Your organisation’s sign-in service could not be reached. Please try again in a moment, or ask your administrator.', `discovery failed: ${technical(error)}`);
  }
}

async function discover(settings: OidcSettings): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer);
  const metadata = { client_secret: settings.clientSecret };
  const config = await client.discovery(issuer, settings.clientId, metadata, undefined, {
    timeout: OIDC_HTTP_TIMEOUT_SECONDS,
    // openid-client refuses plain http, rightly. A provider on this machine's loopback (the tests'
    // oidc-provider, a developer's Keycloak) never crosses a network, so nothing can read or alter
    // its traffic; any other http issuer is refused by OidcSettingsSchema before we get here.
    execute: isLoopbackHttp(issuer) ? [client.allowInsecureRequests] : [],
  });
  // client_secret_basic is the spec's default and what Entra ID, Google and Keycloak accept;
  // post is the fallback for a provider that says it takes only that.
  const methods = config.serverMetadata().token_endpoint_auth_methods_supported;
  const basic = !methods || methods.includes('client_secret_basic') || !methods.includes('client_secret_post');
  const auth = basic ? client.ClientSecretBasic(settings.clientSecret) : client.ClientSecretPost(settings.clientSecret);
  const configured = new client.Configuration(config.serverMetadata(), settings.clientId, metadata, auth);
  configured.timeout = OIDC_HTTP_TIMEOUT_SECONDS;
  if (isLoopbackHttp(issuer)) client.allowInsecureRequests(configured);
  return configured;
}

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

// --- messages -------------------------------------------------------------------------------------

function refuse(reason: OidcFailureReason, message: string, detail: string): OidcFailure {
  return { ok: false, reason, message, detail };
}

/** Provider-sent text goes into audit rows and logs: printable ASCII only, bounded. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function describe(description: string | null): string {
  return description ? ` (${printable(description)})` : '';
}

function technical(error: unknown): string {
  if (!(error instanceof Error)) return printable(String(error));
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return printable(`${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`);
}

/** For tests: forget discovered providers. */
export function forgetDiscoveredProviders(): void {
  configurations.clear();
}
