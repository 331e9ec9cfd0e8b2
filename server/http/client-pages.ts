// The built client's one HTML page, as served for each page address. The room page goes out
// with what its first picture needs named up front: "who am I" (PageBoot, as JSON data the
// page reads instead of asking GET /api/me) and <link rel=modulepreload> for the room's own
// chunks (from Vite's manifest), so the browser fetches them alongside the entry script
// instead of one after another as each import is reached.
import fs from 'node:fs';
import path from 'node:path';
import { PAGE_BOOT_ELEMENT_ID, type PageBoot } from '../../shared/api.ts';

/** The room's code, by source path (client/): the flow that opens the socket and joins,
 *  mediasoup-client's chunk, and the page's components. Their static imports come along. */
export const ROOM_MODULES = ['lib/room-flow.svelte.ts', 'lib/media-session.svelte.ts', 'components/RoomPage.svelte'] as const;

interface ManifestChunk {
  file: string;
  imports?: string[];
  css?: string[];
  isEntry?: boolean;
}
type Manifest = Record<string, ManifestChunk>;

export interface RoomAssets {
  /** JS files (under /assets) the room imports beyond the entry script's own. */
  scripts: string[];
  styles: string[];
}

export class ClientPages {
  readonly indexHtml: string;
  readonly roomAssets: RoomAssets;
  readonly #roomHead: string;

  constructor(indexHtml: string, manifest: Manifest | null) {
    this.indexHtml = indexHtml;
    this.roomAssets = manifest ? roomAssets(manifest) : { scripts: [], styles: [] };
    this.#roomHead = [
      ...this.roomAssets.styles.map((href) => `<link rel="stylesheet" crossorigin href="/${href}">`),
      ...this.roomAssets.scripts.map((href) => `<link rel="modulepreload" crossorigin href="/${href}">`),
    ].join('\n    ');
  }

  /** Reads dist/client; null when the client is not built. */
  static load(clientDir: string): ClientPages | null {
    const indexFile = path.join(clientDir, 'index.html');
    if (!fs.existsSync(indexFile)) return null;
    const manifestFile = path.join(clientDir, '.vite', 'manifest.json');
    const manifest = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest) : null;
    return new ClientPages(fs.readFileSync(indexFile, 'utf8'), manifest);
  }

  /** The room page: the room's chunks preloaded, and (signed in) who this is. */
  roomPage(boot: PageBoot | null): string {
    let html = this.indexHtml.replace('</head>', `    ${this.#roomHead}\n  </head>`);
    if (boot) {
      // Data, not script: never executed, so the CSP (script-src 'self') is untouched. `<` is
      // escaped so that no text in it (a display name) can close the element.
      const json = JSON.stringify(boot).replace(/</g, '\\u003c');
      html = html.replace('<body>', `<body>\n    <script type="application/json" id="${PAGE_BOOT_ELEMENT_ID}">${json}</script>`);
    }
    return html;
  }
}

/** The room modules' chunks and everything they import statically, less what the entry
 *  script already brings (the page names those itself). */
export function roomAssets(manifest: Manifest): RoomAssets {
  const entryKey = Object.keys(manifest).find((key) => manifest[key]?.isEntry);
  const already = new Set<string>();
  const collect = (key: string, into: Set<string>): void => {
    if (into.has(key) || !manifest[key]) return;
    into.add(key);
    for (const dep of manifest[key].imports ?? []) collect(dep, into);
  };
  if (entryKey) collect(entryKey, already);
  const wanted = new Set<string>();
  for (const key of ROOM_MODULES) {
    if (!manifest[key]) throw new Error(`client build has no chunk for ${key}: is the manifest from another version?`);
    collect(key, wanted);
  }
  const chunks = [...wanted].filter((key) => !already.has(key)).map((key) => manifest[key]!);
  return {
    scripts: chunks.map((c) => c.file),
    styles: [...new Set(chunks.flatMap((c) => c.css ?? []))],
  };
}
