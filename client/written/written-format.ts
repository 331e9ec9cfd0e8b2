// Small pure helpers of the written exercise page: time left, fingerprint, text size.

/** "09:59", "1:04:59"; "00:00" once the time is up. */
export function formatTimeLeft(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const mm = String(minutes).padStart(2, '0');
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "12 minutes", "45 seconds", "time is up": for screen readers (to the minute above one). */
export function spokenTimeLeft(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  if (total === 0) return 'time is up';
  if (total < 60) return `${total} second${total === 1 ? '' : 's'}`;
  const minutes = Math.ceil(total / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** The first 16 hex digits in groups of four: enough to compare by eye, short enough to read. */
export function shortFingerprint(sha256: string): string {
  return `${(sha256.slice(0, 16).match(/.{1,4}/g) ?? []).join(' ')}…`;
}

/** Text size steps (multipliers of the page's base size). */
export const TEXT_SCALES = [0.875, 1, 1.125, 1.25, 1.5, 1.75, 2] as const;
export type TextScale = (typeof TEXT_SCALES)[number];
const TEXT_SCALE_KEY = 'simstudio-written-text-size';

export function loadTextScale(): TextScale {
  try {
    const stored = Number(localStorage.getItem(TEXT_SCALE_KEY));
    return TEXT_SCALES.find((s) => s === stored) ?? 1;
  } catch {
    return 1;
  }
}

export function saveTextScale(scale: TextScale): void {
  try {
    localStorage.setItem(TEXT_SCALE_KEY, String(scale));
  } catch {
    // Storage unavailable: the size still applies until the page is reloaded.
  }
}
