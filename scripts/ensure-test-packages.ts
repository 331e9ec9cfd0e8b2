// `npm test` runs this first: the end-to-end tests drive Debian's Chromium.
import { ensureAptPackages, TEST_PACKAGES } from './system-packages.ts';

try {
  ensureAptPackages(TEST_PACKAGES, 'the end-to-end tests', (m) => process.stdout.write(`[simstudio] ${m}\n`));
} catch (error) {
  process.stderr.write(`[simstudio] ${(error as Error).message}\n`);
  process.exit(1);
}
