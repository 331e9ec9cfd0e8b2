// `npm test` runs this first: the end-to-end tests drive Debian's Chromium, recording needs
// ffmpeg, and the report tests read PDFs with pdftotext.
import { ensureAptPackages, RUNTIME_PACKAGES, TEST_PACKAGES } from './system-packages.ts';

try {
  ensureAptPackages([...RUNTIME_PACKAGES, ...TEST_PACKAGES], 'the tests', (m) => process.stdout.write(`[simstudio] ${m}\n`));
} catch (error) {
  process.stderr.write(`[simstudio] ${(error as Error).message}\n`);
  process.exit(1);
}
