// Moderation in tests: a finished, scored demo day, HTTP calls as a signed-in participant,
// and the text of a PDF (poppler's pdftotext).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BookSession } from '../../shared/assessment.ts';
import type { Participant } from '../../shared/domain.ts';
import { demoBooking } from '../../server/demo.ts';
import { finishDemoDay } from '../../server/demo-finished.ts';
import type { Studio } from '../../server/studio.ts';
import { signIn } from './studio.ts';

export interface FinishedDay {
  sessionId: string;
  participants: Participant[];
  one: (role: Participant['role']) => Participant;
}

/** The demo session, run to its end and scored by its observers (server/demo-finished.ts). */
export function finishedDemoDay(studio: Studio, overrides: Partial<BookSession> = {}): FinishedDay {
  const { sessionId, participants } = studio.assessment.book({ ...demoBooking(), ...overrides });
  finishDemoDay({ assessment: studio.assessment, store: studio.docStore, written: studio.written }, sessionId, participants);
  const one = (role: Participant['role']): Participant => {
    const found = participants.find((p) => p.role === role);
    if (!found) throw new Error(`no ${role}`);
    return found;
  };
  return { sessionId, participants, one };
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  raw: Buffer;
  type: string;
}

const cookies = new Map<string, string>();

/** Calls the API as `who` (signed in once through their invite link). */
export async function callAs<T = unknown>(studio: Studio, who: Participant, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  let cookie = cookies.get(who.id);
  if (!cookie) {
    cookie = await signIn(studio, who);
    cookies.set(who.id, cookie);
  }
  const sep = path.includes('?') ? '&' : '?';
  const res = await fetch(`${studio.baseUrl}/api${path}${sep}participantId=${encodeURIComponent(who.id)}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, raw, type, body: (type.includes('json') ? JSON.parse(raw.toString()) : raw.toString()) as T };
}

/** The text of a PDF, as poppler's pdftotext reads it. */
export function pdfText(pdf: Buffer): string {
  return execFileSync('pdftotext', ['-layout', '-', '-'], { input: pdf }).toString('utf8');
}

/** Whether a PDF is tagged (a structure tree for assistive technology), as poppler's pdfinfo says. */
export function pdfTagged(pdf: Buffer): boolean {
  const file = path.join(os.tmpdir(), `simstudio-pdf-${process.pid}-${Date.now()}.pdf`);
  fs.writeFileSync(file, pdf);
  try {
    return /^Tagged:\s+yes$/m.test(execFileSync('pdfinfo', [file]).toString('utf8'));
  } finally {
    fs.rmSync(file, { force: true });
  }
}
