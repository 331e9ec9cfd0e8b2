// Stands in for `zod` in the client build (vite.config.ts): the same zod, switched to its
// eval-free mode before any schema exists. zod probes `new Function` when it builds an object
// schema, and that probe trips the page's Content Security Policy (no 'unsafe-eval'). Doing it
// here, where every `import { z } from 'zod'` of shared/ lands, keeps the order right without
// the entry script loading zod: the room's way to its first picture needs no schema, so zod
// arrives only with the pages and panels that validate input.
import { z } from 'zod/v4';

z.config({ jitless: true });

export { z };
