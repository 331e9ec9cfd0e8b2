// Passkey ceremonies (WebAuthn, issue 13) over @simplewebauthn/server: a signed-in member of
// staff registers a discoverable credential; anyone may then sign in with one, without naming
// themselves first (usernameless). The relying party is the studio's public host and origin.
// Every challenge is made and kept by the server and used at most once: it is taken from the
// store before the response is checked, so a failed answer burns it too.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { z } from 'zod';
import { MAX_PASSKEYS_PER_PERSON, type PasskeyView } from '../../shared/passkeys.ts';
import type { Person } from '../../shared/people.ts';
import type { PasskeyRepo, ChallengeOwner, StoredPasskey } from './passkeys-repo.ts';

/** How long a ceremony may take, from options to answer. */
export const PASSKEY_CEREMONY_MS = 5 * 60_000;

export interface RelyingParty {
  /** The studio's host name (WebAuthn RP ID): passkeys work only under it. */
  id: string;
  /** The studio's origin, as browsers report it in clientDataJSON. */
  origin: string;
  name: string;
}

export function relyingPartyFor(baseUrl: string): RelyingParty {
  const url = new URL(baseUrl);
  return { id: url.hostname, origin: url.origin, name: 'SimStudio' };
}

/** Browsers refuse an IP address as the relying party: passkeys need the studio's host name. */
function unavailable(rp: RelyingParty): PasskeyFailure | undefined {
  if (isIP(rp.id.replace(/^\[|\]$/g, '')) === 0) return undefined;
  return { ok: false, status: 409, reason: `passkeys need the studio to be opened by its host name, not the address ${rp.id}: use http://localhost or set SIMSTUDIO_PUBLIC_URL` };
}

/** The WebAuthn user handle of a person: stable, and says nothing about them. */
export function userHandleOf(personId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(`simstudio-person:${personId}`).digest());
}

export type PasskeyFailure = { ok: false; status: 400 | 401 | 403 | 409 | 429; reason: string; person?: Person };

export class Passkeys {
  private readonly repo: PasskeyRepo;
  private readonly relyingParty: () => RelyingParty;

  constructor(repo: PasskeyRepo, relyingParty: () => RelyingParty) {
    this.repo = repo;
    this.relyingParty = relyingParty;
  }

  list(personId: string): PasskeyView[] {
    return this.repo.listOf(personId);
  }

  remove(personId: string, id: string): boolean {
    return this.repo.remove(personId, id);
  }

  async registrationOptions(person: Person, owner: ChallengeOwner): Promise<PublicKeyCredentialCreationOptionsJSON | PasskeyFailure> {
    if (this.repo.countOf(person.id) >= MAX_PASSKEYS_PER_PERSON) return { ok: false, status: 409, reason: `you have ${MAX_PASSKEYS_PER_PERSON} passkeys: remove one first` };
    const rp = this.relyingParty();
    const refusal = unavailable(rp);
    if (refusal) return refusal;
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userID: userHandleOf(person.id),
      userName: person.email ?? person.displayName,
      userDisplayName: person.displayName,
      attestationType: 'none',
      // Passwordless: the passkey itself must name the person, and prove it is them.
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: this.repo.listOf(person.id).map((p) => ({ id: p.id, transports: p.transports as AuthenticatorTransportFuture[] })),
      timeout: PASSKEY_CEREMONY_MS,
    });
    this.repo.issueChallenge(options.challenge, 'register', PASSKEY_CEREMONY_MS, owner);
    return options;
  }

  async register(person: Person, owner: ChallengeOwner, response: RegistrationResponseJSON): Promise<{ ok: true; passkey: PasskeyView } | PasskeyFailure> {
    const challenge = challengeOf(response.response.clientDataJSON);
    if (!challenge || !this.repo.takeChallenge(challenge, 'register', owner)) return { ok: false, status: 400, reason: 'this passkey request is unknown, used or expired: start again' };
    const rp = this.relyingParty();
    let verified;
    try {
      verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true });
    } catch (error) {
      return { ok: false, status: 400, reason: `the passkey could not be checked: ${(error as Error).message}` };
    }
    if (!verified.verified) return { ok: false, status: 400, reason: 'the passkey could not be checked' };
    const { credential } = verified.registrationInfo;
    if (this.repo.get(credential.id)) return { ok: false, status: 409, reason: 'this passkey is already registered' };
    const stored = this.repo.add({ id: credential.id, personId: person.id, publicKey: credential.publicKey, counter: credential.counter, transports: credential.transports ?? [] });
    return { ok: true, passkey: { id: stored.id, createdAt: stored.createdAt, lastUsedAt: null, transports: stored.transports } };
  }

  async authenticationOptions(): Promise<PublicKeyCredentialRequestOptionsJSON | PasskeyFailure> {
    const rp = this.relyingParty();
    const refusal = unavailable(rp);
    if (refusal) return refusal;
    // No allowCredentials: the browser offers the passkeys it holds for this studio.
    const options = await generateAuthenticationOptions({ rpID: rp.id, userVerification: 'required', timeout: PASSKEY_CEREMONY_MS });
    if (!this.repo.issueChallenge(options.challenge, 'authenticate', PASSKEY_CEREMONY_MS)) return { ok: false, status: 429, reason: 'too many sign-ins are under way: try again in a few minutes' };
    return options;
  }

  /** Who this answer proves to be; `people` finds the passkey's person. */
  async authenticate(response: AuthenticationResponseJSON, people: (id: string) => Person | undefined): Promise<{ ok: true; person: Person } | PasskeyFailure> {
    const challenge = challengeOf(response.response.clientDataJSON);
    if (!challenge || !this.repo.takeChallenge(challenge, 'authenticate')) return { ok: false, status: 400, reason: 'this sign-in request is unknown, used or expired' };
    const passkey = this.repo.get(response.id);
    if (!passkey) return { ok: false, status: 401, reason: 'unknown passkey' };
    const person = people(passkey.personId);
    if (!person || person.removedAt) return { ok: false, status: 403, reason: 'removed', ...(person ? { person } : {}) };
    if (response.response.userHandle !== undefined && response.response.userHandle !== Buffer.from(userHandleOf(person.id)).toString('base64url')) {
      return { ok: false, status: 401, reason: 'the passkey names another person', person };
    }
    const rp = this.relyingParty();
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: credentialOf(passkey),
        requireUserVerification: true,
      });
    } catch (error) {
      return { ok: false, status: 401, reason: `the passkey's answer could not be checked: ${(error as Error).message}`, person };
    }
    if (!verified.verified) return { ok: false, status: 401, reason: "the passkey's answer could not be checked", person };
    if (!this.repo.recordUse(passkey.id, passkey.counter, verified.authenticationInfo.newCounter)) {
      return { ok: false, status: 401, reason: 'the passkey was used again at the same moment', person };
    }
    return { ok: true, person };
  }
}

export const isPasskeyFailure = (value: object): value is PasskeyFailure => 'ok' in value && value.ok === false;

function credentialOf(p: StoredPasskey) {
  return { id: p.id, publicKey: new Uint8Array(p.publicKey), counter: p.counter, transports: p.transports as AuthenticatorTransportFuture[] };
}

const ClientData = z.object({ challenge: z.string().min(1).max(200) });

/** The challenge the browser signed over, read from its clientDataJSON (checked again by the verifier). */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const parsed = ClientData.safeParse(JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data.challenge : undefined;
  } catch {
    return undefined;
  }
}
