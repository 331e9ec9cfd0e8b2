// The settings programme email is written with: when reminders go out before a session, and
// the time zone its dates are given in. Both refuse a bad value with a sentence saying why.

export interface ReminderOffset {
  /** As configured, e.g. "1d": names the reminder in logs and rows. */
  label: string;
  /** How long before the start. */
  ms: number;
}

const UNIT_MS = { d: 24 * 3600_000, h: 3600_000, m: 60_000 } as const;
// A reminder further ahead than this is a typo (a booking is rarely made a year ahead).
const MAX_OFFSET_MS = 90 * UNIT_MS.d;

/** "7d,1d,1h" → offsets, longest first; "" → none. */
export function parseReminderOffsets(raw: string): ReminderOffset[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const offsets = items.map((item): ReminderOffset => {
    const match = /^(\d{1,4})([dhm])$/.exec(item);
    if (!match) throw new Error(`"${item}" is not a reminder time: write a number and d, h or m, e.g. "7d,1d,1h"`);
    const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
    if (ms <= 0 || ms > MAX_OFFSET_MS) throw new Error(`"${item}": a reminder goes out between 1 minute and 90 days before the start`);
    return { label: item, ms };
  });
  if (new Set(offsets.map((o) => o.ms)).size !== offsets.length) throw new Error('the same reminder time is given twice');
  return offsets.sort((a, b) => b.ms - a.ms);
}

/** The IANA time zone name as given, or an error naming it. */
export function checkTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
  } catch {
    throw new Error(`"${zone}" is not a time zone: use an IANA name such as Europe/London`);
  }
  return zone;
}
