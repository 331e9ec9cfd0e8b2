// The audit chain on an existing database (the migration chains the rows already there) and
// the operator's commands: `npm run admin -- audit-verify` (exit 1 when the chain is broken)
// and `retention-run [--organisation ID] [--dry-run]`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import type { AuditChainVerdict, RetentionReport } from '../../shared/data-protection.ts';
import { AuditRepo } from '../../server/db/audit-repo.ts';
import { DATA_PROTECTION_VERSION, migrate, openDatabase, openStudioDatabase } from '../../server/db/database.ts';
import { PeopleRepo } from '../../server/people/people-repo.ts';
import { verifyAuditChain } from '../../server/data-protection/audit-chain.ts';
import { studioEnv } from '../helpers/postgres.ts';
import { connectToStudioDatabase, dropTrigger, testDatabaseUrl } from '../helpers/postgres.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function admin(dataDir: string, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['server/admin-cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...studioEnv(dataDir), SIMSTUDIO_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('the audit chain', () => {
  it('the migration chains the rows already in the log; new rows extend it; a raw change breaks it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-chain-'));
    const db = new DatabaseSync(path.join(dir, 'old.db'));
    try {
      migrate(db, DATA_PROTECTION_VERSION - 1);
      for (let i = 0; i < 5; i++) db.prepare("INSERT INTO audit_log (at, action, actor_name, detail) VALUES (?, 'old.action', ?, ?)").run(`2025-01-0${i + 1}T00:00:00.000Z`, `Person ${i}`, JSON.stringify({ n: i }));
      migrate(db);
      expect(verifyAuditChain(db)).toEqual({ ok: true, rows: 5, firstBad: null, anchoredUpTo: 0 });
      // The old rows read as they were.
      expect(db.prepare('SELECT actor_name, detail FROM audit_log WHERE id = 3').get()).toEqual({ actor_name: 'Person 2', detail: '{"n":2}' });
      new AuditRepo(db).append({ job: 'job:test', action: 'new.action', detail: { after: 'migration' } });
      expect(verifyAuditChain(db)).toMatchObject({ ok: true, rows: 6 });
      // A row removed from the middle (triggers dropped, as only raw access could) is found.
      db.exec('DROP TRIGGER audit_log_no_delete');
      db.prepare('DELETE FROM audit_log WHERE id = 3').run();
      expect(verifyAuditChain(db)).toMatchObject({ ok: false, firstBad: { id: 4, reason: expect.stringMatching(/does not follow/) } });
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run admin', () => {
  it('retention-run runs, audits and prints its report; audit-verify says whether the chain holds (exit 1 when not)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'simstudio-admin-dp-'));
    try {
      // The organisation is made in process (each command is a Node start-up: kept to three).
      const setup = openStudioDatabase({ dataDir, databaseUrl: testDatabaseUrl(dataDir) });
      const organisationId = new PeopleRepo(setup).createOrganisation('Hazel Trust').id;
      new AuditRepo(setup).append({ person: { personId: null, name: 'vitest', role: 'operator', organisationId }, action: 'organisation.created' });
      setup.close();

      const run = await admin(dataDir, 'retention-run', '--organisation', organisationId);
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout) as RetentionReport;
      expect(report).toMatchObject({ dryRun: false, organisationIds: [organisationId] });
      expect(Object.keys(report.classes).sort()).toEqual(['audit', 'emailLog', 'equalities', 'marksAndResults', 'recordings', 'writtenWork']);
      const verified = await admin(dataDir, 'audit-verify');
      expect(verified.status).toBe(0);
      expect(JSON.parse(verified.stdout) as AuditChainVerdict).toMatchObject({ ok: true, rows: 2 });

      // The run is audited as job:retention, and the chain still holds with its row.
      const db = connectToStudioDatabase(dataDir);
      try {
        expect(db.prepare("SELECT actor_name, actor_role, organisation_id FROM audit_log WHERE action = 'retention.run'").all()).toEqual([
          { actor_name: 'job:retention', actor_role: 'job', organisation_id: organisationId },
        ]);
        dropTrigger(db, 'audit_log_no_update', 'audit_log');
        db.prepare("UPDATE audit_log SET actor_role = 'operator' WHERE action = 'retention.run'").run();
      } finally {
        db.close();
      }
      const broken = await admin(dataDir, 'audit-verify');
      expect(broken.status).toBe(1);
      expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, firstBad: { reason: 'the row was changed' } });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
