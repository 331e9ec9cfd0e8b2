// Notifications from PostgreSQL (LISTEN/NOTIFY) to this process: how one studio process hears
// that another, sharing the database, changed something it holds in memory (an assessment
// day's phase). A NOTIFY sent inside a transaction arrives once it commits, so a listener
// never reads ahead of what is stored. The connection is the asynchronous driver's own; when
// it is lost it is opened again (1 s, 2 s, … up to 30 s apart), and `resync` runs once it is
// back, because what was notified while it was away is not sent again.
import pg from 'pg';
import type { Logger } from '../../log.ts';

export interface ListenerOptions {
  url: string;
  channel: string;
  /** One notification's payload. */
  onNotify: (payload: string) => void;
  /** The connection is back after a loss: notifications may have been missed. */
  resync: () => void;
  log: Logger;
}

const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** Listens until the returned function is called. */
export function listenToPostgres(options: ListenerOptions): () => Promise<void> {
  const log = options.log.child({ module: 'pg-listener', channel: options.channel });
  let client: pg.Client | null = null;
  let closed = false;
  let attempts = 0;
  let retry: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const fresh = new pg.Client({ connectionString: options.url });
    client = fresh;
    const lost = (reason: string): void => {
      if (client !== fresh || closed) return;
      client = null;
      attempts++;
      const delay = Math.min(RETRY_FIRST_MS * 2 ** (attempts - 1), RETRY_MAX_MS);
      log.warn({ reason, retryInMs: delay }, 'lost the notification connection; connecting again');
      retry = setTimeout(() => void connect(), delay);
      retry.unref();
    };
    fresh.on('error', (err) => lost(err.message));
    fresh.on('end', () => lost('connection ended'));
    fresh.on('notification', (message) => {
      if (message.channel !== options.channel || message.payload === undefined) return;
      try {
        options.onNotify(message.payload);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'handling a notification failed');
      }
    });
    try {
      await fresh.connect();
      // The channel is a fixed identifier of ours, never a client's text.
      await fresh.query(`LISTEN ${options.channel}`);
    } catch (err) {
      lost((err as Error).message);
      void fresh.end().catch(() => undefined);
      return;
    }
    if (attempts > 0) {
      attempts = 0;
      options.resync();
    }
  };
  void connect();

  return async () => {
    closed = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
    client = null;
  };
}
