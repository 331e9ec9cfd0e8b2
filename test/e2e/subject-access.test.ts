// Subject access from the people list, in real Chromium: an administrator signed in on /staff
// downloads a candidate's archive with the link on their row; the file is the person's zip.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { demoBooking } from '../../server/demo.ts';
import { finishDemoDay } from '../../server/demo-finished.ts';
import type { SubjectAccessPerson, SubjectAccessRecords } from '../../shared/subject-access.ts';
import { axeViolations } from '../helpers/axe.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let browser: Browser;

beforeAll(async () => {
  studio = await startTestStudio();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await studio?.close();
});

async function unzipJson(zip: Buffer, names: string[]): Promise<Map<string, unknown>> {
  const archive = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const found = new Map<string, unknown>();
  for await (const entry of archive.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const chunk of await archive.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    if (names.includes(entry.fileName)) found.set(entry.fileName, JSON.parse(Buffer.concat(chunks).toString('utf8')));
  }
  return found;
}

it('an administrator downloads a candidate’s subject access archive from the people list', async () => {
  const organisation = studio.people.createOrganisation('Northshire Council');
  const { sessionId, participants } = studio.assessment.book({ ...demoBooking(), candidate: { displayName: 'Nia Northshire', candidateRef: 'NS-0101' } }, Math.random, organisation.id);
  finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, sessionId, participants);
  const admin = studio.people.create(organisation.id, { displayName: 'Ada Admin', email: 'ada@northshire.example', roles: ['administrator'] });

  const context = await browser.newContext({ acceptDownloads: true });
  try {
    const page = await context.newPage();
    await page.goto(`${studio.baseUrl}/auth/magic/${studio.magicLinks.issue(admin.id, 'admin-link', null)}`);
    await page.waitForURL(`${studio.baseUrl}/staff`);
    const link = page.getByTestId('people').getByRole('row').filter({ hasText: 'Nia Northshire' }).getByRole('link', { name: 'Export their data (subject access archive of Nia Northshire)' });
    await link.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^subject-access-Nia-Northshire-\d{4}-\d{2}-\d{2}\.zip$/);
    const chunks: Buffer[] = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
    const files = await unzipJson(Buffer.concat(chunks), ['person.json', 'records.json']);
    expect((files.get('person.json') as SubjectAccessPerson).person).toMatchObject({ displayName: 'Nia Northshire', candidateRef: 'NS-0101', roles: ['candidate'] });
    const records = files.get('records.json') as SubjectAccessRecords;
    expect(records.sessions.map((s) => [s.sessionId, s.role])).toEqual([[sessionId, 'candidate']]);
    // The day is scored but not signed off: the marks wait for the result.
    expect(records.sessions[0]!.assessment).toMatchObject({ status: 'not signed off' });
  } finally {
    await context.close();
  }
});
