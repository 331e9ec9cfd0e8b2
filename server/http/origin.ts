// Which web origins may open the studio's WebSockets (Socket.IO signalling, /collab). Cookies
// ride along on a WebSocket handshake from any page, and the same-origin policy does not
// apply to WebSockets, so without this check a page on another origin that the user visits
// could act as them (cross-site WebSocket hijacking; issue 11, row 14).
//
// Browsers always send Origin on a WebSocket handshake; a request without one comes from a
// non-browser client (tests, scripts), which holds cookies only if it was given them, so it
// is allowed.

/** An origin as browsers serialise it: scheme://host[:port], lower case, no default port. */
export function normaliseOrigin(value: string): string {
  const url = new URL(value.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"${value}" is not an http(s) origin`);
  return url.origin;
}

/** Parses SIMSTUDIO_ALLOWED_ORIGINS (a comma-separated list of origins or URLs). */
export function parseAllowedOrigins(raw: string): string[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('SIMSTUDIO_ALLOWED_ORIGINS lists no origin');
  return [...new Set(entries.map(normaliseOrigin))];
}

export function originAllowed(originHeader: string | undefined, allowed: readonly string[]): boolean {
  if (originHeader === undefined) return true;
  let origin: string;
  try {
    origin = normaliseOrigin(originHeader);
  } catch {
    return false; // "null" (sandboxed frames, file:) or garbage
  }
  return allowed.includes(origin);
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The list in force: SIMSTUDIO_ALLOWED_ORIGINS when set; otherwise the origin of the public
 * URL (invite links point there). Without a public URL on a loopback address, the other
 * names of this machine's loopback on the same port too (a browser may say localhost).
 */
export function allowedOriginsFor(config: { allowedOrigins: readonly string[] | undefined; publicUrl: string | undefined; host: string }, baseUrl: string): string[] {
  if (config.allowedOrigins) return [...config.allowedOrigins];
  const base = normaliseOrigin(baseUrl);
  if (config.publicUrl || !LOOPBACK_HOSTS.has(config.host)) return [base];
  const { protocol, port } = new URL(base);
  const suffix = port ? `:${port}` : '';
  return [...new Set([base, `${protocol}//127.0.0.1${suffix}`, `${protocol}//localhost${suffix}`, `${protocol}//[::1]${suffix}`])];
}
