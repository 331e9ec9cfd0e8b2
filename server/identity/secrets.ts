// Bearer secrets for sign-in (magic links, staff sessions): 256 random bits, stored only as
// their SHA-256, so a copy of the database cannot sign anyone in.
import { createHash, randomBytes } from 'node:crypto';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** What a secret we issued looks like: anything else is refused before the database is asked. */
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
