// A real SMTP server for tests (smtp-server, messages parsed with mailparser): it wants a login
// (user "studio", password "s3cret"), and answers RCPT TO with `refuseRcpt` when given.
import type net from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

export interface Received {
  mail: ParsedMail;
  mailFrom: string;
  rcptTo: string[];
}

export interface TestSmtp {
  url: string;
  received: Received[];
  /** Every RCPT TO the server was asked for, accepted or not. */
  rcptAttempts: string[];
  close(): Promise<void>;
}

export async function startSmtp(refuseRcpt?: { code: number; message: string }): Promise<TestSmtp> {
  const received: Received[] = [];
  const rcptAttempts: string[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'studio' && auth.password === 's3cret') callback(null, { user: 'studio' });
      else callback(Object.assign(new Error('bad credentials'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      rcptAttempts.push(address.address);
      if (refuseRcpt) callback(Object.assign(new Error(refuseRcpt.message), { responseCode: refuseRcpt.code }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope;
        simpleParser(Buffer.concat(chunks)).then(
          (mail) => {
            received.push({
              mail,
              mailFrom: envelope.mailFrom ? envelope.mailFrom.address : '',
              rcptTo: envelope.rcptTo.map((a: SMTPServerAddress) => a.address),
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as net.AddressInfo).port));
  });
  return {
    url: `smtp://studio:s3cret@127.0.0.1:${port}`,
    received,
    rcptAttempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

