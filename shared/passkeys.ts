// Passkeys for staff (issue 13): what the browser sends back from a WebAuthn ceremony (as
// @simplewebauthn/browser serialises it), checked at the server boundary before any
// cryptography, and what a person sees of their own passkeys. Defined once for server and client.
import { z } from 'zod';

const Base64Url = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'base64url');

/** Credential ids are at most 1023 bytes (WebAuthn): 1364 base64url characters. */
const CredentialId = Base64Url(1364);

const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;
export const PasskeyTransportSchema = z.enum(TRANSPORTS);

const Common = {
  id: CredentialId,
  rawId: CredentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()),
};

/** navigator.credentials.create()'s answer (registration). */
export const RegistrationResponseSchema = z.object({
  ...Common,
  response: z.object({
    clientDataJSON: Base64Url(4096),
    attestationObject: Base64Url(12_000),
    authenticatorData: Base64Url(8192).optional(),
    transports: z.array(PasskeyTransportSchema).max(TRANSPORTS.length).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: Base64Url(4096).optional(),
  }),
});

/** navigator.credentials.get()'s answer (sign-in). */
export const AuthenticationResponseSchema = z.object({
  ...Common,
  response: z.object({
    clientDataJSON: Base64Url(4096),
    authenticatorData: Base64Url(8192),
    signature: Base64Url(2048),
    userHandle: Base64Url(128).optional(),
  }),
});

/** One of the signed-in person's passkeys, as they see it in their list. */
export interface PasskeyView {
  id: string;
  createdAt: string;
  lastUsedAt: string | null;
  transports: string[];
}

/** A passkey is kept to this many per person. */
export const MAX_PASSKEYS_PER_PERSON = 10;
