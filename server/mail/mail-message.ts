// What may be put in the outbox: checked before it is stored, so that a bad address or a header
// smuggled into a subject never reaches the queue (nodemailer would fold such a header into a
// line of its own, but refusing it outright keeps the stored row exactly what was asked for).
import { z } from 'zod';

/** Why a message was refused (a closed set, for the caller to map onto its own errors). */
export type MailInputErrorCode = 'invalid_address' | 'header_injection' | 'invalid_message';

export class MailInputError extends Error {
  readonly code: MailInputErrorCode;

  constructor(code: MailInputErrorCode, message: string) {
    super(message);
    this.name = 'MailInputError';
    this.code = code;
  }
}

/** Limits on what one message may hold (an invitation or a sign-in link is far smaller). */
export const MAIL_LIMITS = { address: 254, subject: 200, text: 100_000, html: 200_000, kind: 40, organisationId: 100, attachments: 3, attachment: 64 * 1024, filename: 100 } as const;

// Line breaks would start a new header; other control characters have no place in one either.
const HEADER_BREAKING = /[\u0000-\u001f\u007f]/;

const OutgoingMailSchema = z.strictObject({
  organisationId: z.string().min(1).max(MAIL_LIMITS.organisationId).nullable(),
  to: z.string(),
  subject: z.string(),
  text: z.string().min(1).max(MAIL_LIMITS.text),
  html: z.string().min(1).max(MAIL_LIMITS.html).optional(),
  /** What the message is for (e.g. 'sign-in-link', 'invitation'): shown on the admin page. */
  kind: z.string().regex(/^[a-z][a-z0-9._-]*$/).max(MAIL_LIMITS.kind),
  /** Small text files sent with the message (an invitation's .ics), stored with its row. */
  attachments: z
    .array(
      z.strictObject({
        // A plain file name: it becomes a MIME header parameter.
        filename: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/).max(MAIL_LIMITS.filename),
        contentType: z.string().regex(/^[a-z]+\/[a-z0-9.+-]+(; *[a-z-]+=[A-Za-z0-9._-]+)*$/).max(120),
        content: z.string().min(1).max(MAIL_LIMITS.attachment),
      }),
    )
    .max(MAIL_LIMITS.attachments)
    .optional(),
});

export type MailAttachment = NonNullable<z.input<typeof OutgoingMailSchema>['attachments']>[number];

export type OutgoingMail = z.input<typeof OutgoingMailSchema>;

const AddressSchema = z.email().max(MAIL_LIMITS.address);

/** The message as it will be stored, or a MailInputError saying why not. */
export function parseOutgoingMail(input: unknown): OutgoingMail {
  const parsed = OutgoingMailSchema.safeParse(input);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => issue.path.join('.') || '(message)').join(', ');
    throw new MailInputError('invalid_message', `invalid message: ${where}`);
  }
  const mail = parsed.data;
  if (HEADER_BREAKING.test(mail.to) || HEADER_BREAKING.test(mail.subject)) {
    throw new MailInputError('header_injection', 'a recipient or subject may not contain line breaks or control characters');
  }
  if (!AddressSchema.safeParse(mail.to).success) throw new MailInputError('invalid_address', 'not an email address');
  if (mail.subject.trim() === '' || mail.subject.length > MAIL_LIMITS.subject) {
    throw new MailInputError('invalid_message', `a subject must have 1 to ${MAIL_LIMITS.subject} characters`);
  }
  return mail;
}

/** The sender, `Name <address>` or a bare address, as nodemailer takes it. */
export interface MailSender {
  name: string;
  address: string;
}

/** Reads SIMSTUDIO_MAIL_FROM: `SimStudio <no-reply@example.org>` or `no-reply@example.org`. */
export function parseSender(raw: string): MailSender {
  const value = raw.trim();
  if (HEADER_BREAKING.test(value)) throw new Error('a sender may not contain line breaks or control characters');
  const named = /^(.*?)\s*<([^<>]+)>$/.exec(value);
  const name = (named ? named[1]! : '').replace(/^"(.*)"$/, '$1').trim();
  const address = named ? named[2]!.trim() : value;
  if (/["<>]/.test(name)) throw new Error('a sender name may not contain quotes or angle brackets');
  if (!AddressSchema.safeParse(address).success) throw new Error(`"${address}" is not an email address`);
  return { name, address };
}
