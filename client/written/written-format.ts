// Small pure helpers of the written exercise page: fingerprint, text size.

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
