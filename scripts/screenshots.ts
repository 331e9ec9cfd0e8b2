// `npm run screenshots`: every role's main screens as PNGs, so a reviewer can look at each one
// without running a day. Starts a throwaway studio, walks the tour of the accessibility test
// (test/helpers/tour.ts) in headless Chromium, and at each state writes
// screenshots/<role>-<state>-<width>x<height>.png at a desktop and a phone size.
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from '../test/helpers/browser.ts';
import { startTestStudio } from '../test/helpers/studio.ts';
import { runTour, TOUR_VIEWPORT } from '../test/helpers/tour.ts';

const SIZES = [TOUR_VIEWPORT, { width: 390, height: 844 }];
const outDir = path.resolve(process.argv[2] ?? 'screenshots');

fs.mkdirSync(outDir, { recursive: true });
for (const old of fs.readdirSync(outDir)) if (old.endsWith('.png')) fs.rmSync(path.join(outDir, old));

const studio = await startTestStudio();
const browser = await launchBrowser();
let written = 0;
try {
  await runTour({
    studio,
    browser,
    onStep: (what) => process.stdout.write(`  ${what}\n`),
    visit: async ({ role, state, page }) => {
      for (const size of SIZES) {
        await page.setViewportSize(size);
        // Let the layout settle at the new size before the picture (what fits the screen: the
        // pages scroll inside their own regions, so a full-page picture would show no more).
        await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
        await page.screenshot({ path: path.join(outDir, `${role}-${state}-${size.width}x${size.height}.png`) });
        written++;
      }
      await page.setViewportSize(TOUR_VIEWPORT);
    },
  });
} finally {
  await browser.close();
  await studio.close();
  fs.rmSync(studio.dataDir, { recursive: true, force: true });
}
process.stdout.write(`${written} screenshots in ${outDir}\n`);
