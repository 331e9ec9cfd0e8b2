// Secrets the studio must read back itself (an organisation's OpenID Connect client secret),
// stored sealed: AES-256-GCM under a key derived (HKDF) from the studio's signing secret, bound
// to what they belong to (the associated data), so a copy of the database — a PostgreSQL dump, a
// backup — does not hold them in the clear, and a sealed value moved to another row does not open.
// The signing secret lives in the data directory (or SIMSTUDIO_SECRET), not in the database.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that does not open: the studio's secret changed, or the value was altered. */
export class SecretUnreadable extends Error {}

export class SecretBox {
  private readonly key: Buffer;

  /** `purpose` separates keys: one purpose's sealed values never open under another's. */
  constructor(signingSecret: Uint8Array, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', signingSecret, new Uint8Array(0), `simstudio secret-box ${purpose}`, 32));
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  /** `owner`: what the secret belongs to (e.g. the organisation's id); needed again to open it. */
  seal(plaintext: string, owner: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** Throws SecretUnreadable when it does not open (or is not a sealed value at all). */
  open(stored: string, owner: string): string {
    if (!SecretBox.isSealed(stored)) throw new SecretUnreadable('not a sealed value');
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretUnreadable('sealed value too short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(owner, 'utf8'));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretUnreadable('the sealed value does not open with this studio\'s secret');
    }
  }
}
