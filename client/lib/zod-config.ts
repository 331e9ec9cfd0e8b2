// shared/ modules build zod schemas at import time. In the browser nothing is validated with
// them, and zod's probe for `new Function` support would trip the page's Content Security
// Policy (no 'unsafe-eval'), so switch zod to its eval-free mode before anything else loads.
import { z } from 'zod';

z.config({ jitless: true });
