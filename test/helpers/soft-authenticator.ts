// A software WebAuthn authenticator for tests that talk to the studio without a browser: real
// P-256 keys, real authenticator data and signatures (as a platform authenticator makes them),
// and the JSON @simplewebauthn/browser would send. It can also misbehave on request (another
// origin, an old counter, a challenge of its own), which a browser never lets a test do.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  userHandle: string;
  /** The signature counter the next assertion carries (then incremented). */
  counter: number;
}

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

export function newCredential(userHandle: string): { credential: SoftCredential; publicKeyCose: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const publicKeyCose = cbor(
    new Map<number, unknown>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]),
  );
  return { credential: { id: b64url(randomBytes(16)), privateKey, userHandle, counter: 1 }, publicKeyCose };
}

/** navigator.credentials.create() for `options` (PublicKeyCredentialCreationOptionsJSON). */
export function attest(options: { challenge: string; rp: { id?: string }; user: { id: string } }, origin: string): { credential: SoftCredential; response: Record<string, unknown> } {
  const { credential, publicKeyCose } = newCredential(options.user.id);
  const credentialId = Buffer.from(credential.id, 'base64url');
  const authData = Buffer.concat([
    rpIdHash(options.rp.id!),
    Buffer.from([0x45]), // user present, user verified, attested credential data
    counterBytes(0),
    Buffer.alloc(16), // AAGUID
    Buffer.from([credentialId.length >> 8, credentialId.length & 0xff]),
    credentialId,
    publicKeyCose,
  ]);
  const clientDataJSON = JSON.stringify({ type: 'webauthn.create', challenge: options.challenge, origin, crossOrigin: false });
  const attestationObject = cbor(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
  return {
    credential,
    response: {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['internal'] },
    },
  };
}

/** navigator.credentials.get() answering `challenge` for `rpId` with this credential. */
export function assert(credential: SoftCredential, rpId: string, challenge: string, origin: string): Record<string, unknown> {
  const authData = Buffer.concat([rpIdHash(rpId), Buffer.from([0x05]), counterBytes(credential.counter++)]);
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }));
  const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]), credential.privateKey);
  return {
    id: credential.id,
    rawId: credential.id,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    clientExtensionResults: {},
    response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature), userHandle: credential.userHandle },
  };
}

const rpIdHash = (rpId: string): Buffer => createHash('sha256').update(rpId).digest();

function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The CBOR subset WebAuthn needs: integers, byte and text strings, maps. */
function cbor(value: unknown): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    throw new Error('too long for this encoder');
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new Error(`cannot encode ${typeof value}`);
}
