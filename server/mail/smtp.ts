// The SMTP side of delivery: a nodemailer transport with timeouts short enough that a silent or
// slow server costs one attempt, not a stuck queue, and the rule for which failures are final.
import nodemailer from 'nodemailer';
import type { MailSender } from './mail-message.ts';

export interface SmtpTimeouts {
  /** To open the TCP (or TLS) connection. */
  connectionMs: number;
  /** For the server's greeting once connected. */
  greetingMs: number;
  /** Of silence on an open connection. */
  socketMs: number;
}

// nodemailer's own defaults (2 min, 30 s, 10 min) would hold an attempt for minutes.
export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 30_000 };

export interface SmtpMessage {
  to: string;
  subject: string;
  text: string;
  html: string | null;
  attachments?: ReadonlyArray<{ filename: string; contentType: string; content: string }>;
}

export interface SmtpSender {
  /** Resolves with the accepted Message-ID; rejects with nodemailer's error. */
  send(message: SmtpMessage): Promise<string | null>;
  close(): void;
}

export function createSmtpSender(url: string, from: MailSender, timeouts: SmtpTimeouts = DEFAULT_SMTP_TIMEOUTS): SmtpSender {
  const transport = nodemailer.createTransport({
    url,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.connectionMs,
  });
  return {
    async send(message) {
      const info = await transport.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html !== null ? { html: message.html } : {}),
        ...(message.attachments?.length
          ? { attachments: message.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })) }
          : {}),
      });
      return typeof info.messageId === 'string' ? info.messageId : null;
    },
    close: () => transport.close(),
  };
}

/** An SMTP 5xx answer (no such mailbox, message refused) will not change by retrying; a
 *  connection problem, a timeout, a 4xx answer or refused credentials (the studio's own
 *  configuration, which an administrator can fix) might. */
export function isPermanentFailure(error: unknown): boolean {
  const { responseCode, code } = (error ?? {}) as { responseCode?: unknown; code?: unknown };
  return typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600 && code !== 'EAUTH';
}

/** One line for the outbox and the log: nodemailer's message, with the SMTP answer if any. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, response } = error as Error & { code?: unknown; response?: unknown };
  const parts = [typeof code === 'string' ? `${code}: ${error.message}` : error.message];
  if (typeof response === 'string' && !error.message.includes(response)) parts.push(response);
  return parts.join(' — ');
}
