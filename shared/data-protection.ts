// Data protection (issue 15 items 6, 7): retention periods per data class, legal holds, the
// retention run's report, erasure of a person, and the audit chain's verdict. Requests to the
// /api/org/data-protection routes are validated with these schemas.
import { z } from 'zod';

/** What retention treats separately, each with its own period per organisation. */
export const DATA_CLASSES = ['recordings', 'writtenWork', 'marksAndResults', 'audit', 'equalities', 'emailLog'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

export const DATA_CLASS_LABELS: Record<DataClass, string> = {
  recordings: 'Recordings',
  writtenWork: 'Written work',
  marksAndResults: 'Marks and results',
  audit: 'Audit log',
  equalities: 'Equalities data',
  emailLog: 'Email log',
};

export type RetentionPeriods = Record<DataClass, number>;

const Days = z.number().int().min(1).max(36500);

/** A change to some of an organisation's periods (days). */
export const RetentionChangeSchema = z.object(Object.fromEntries(DATA_CLASSES.map((c) => [c, Days.optional()])) as Record<DataClass, z.ZodOptional<typeof Days>>).strict();
export type RetentionChange = z.infer<typeof RetentionChangeSchema>;

const Reason = z.string().trim().min(3).max(2000);
const Id = z.string().regex(/^[A-Za-z0-9-]{1,80}$/);

export const HoldRequestSchema = z.object({ sessionId: Id, reason: Reason }).strict();
export const HoldReleaseSchema = z.object({ reason: Reason }).strict();
export const HoldParamSchema = z.object({ id: Id });

export interface LegalHold {
  id: string;
  sessionId: string;
  /** 'manual': set by hand; 'review': a result review open on the session (released when decided). */
  kind: 'manual' | 'review';
  reason: string;
  setBy: string | null;
  setAt: string;
}

export const ErasureRequestSchema = z
  .object({
    reason: Reason,
    /** Keep the person's results (the statutory record) with this reason; absent: nothing kept. */
    keepResults: z.object({ reason: Reason }).strict().optional(),
  })
  .strict();
export type ErasureRequest = z.infer<typeof ErasureRequestSchema>;

export interface ErasureReport {
  erasureId: string;
  pseudonym: string;
  /** Rows changed or removed, per table. */
  tables: Record<string, number>;
  recordingsDeleted: number;
  resultsKept: { sessionIds: string[]; reason: string } | null;
}

export const RetentionRunRequestSchema = z.object({ dryRun: z.boolean().default(false) }).strict();

export interface RetentionClassReport {
  /** Rows or files deleted, or pseudonymised (dry run: what would be). */
  removed: number;
  pseudonymised: number;
  sessionIds: string[];
}

export interface RetentionReport {
  dryRun: boolean;
  at: string;
  organisationIds: string[];
  classes: Record<DataClass, RetentionClassReport>;
  /** Sessions past a period whose data was kept because of a hold. */
  heldSessionIds: string[];
}

export interface AuditChainVerdict {
  ok: boolean;
  rows: number;
  /** The first row that does not verify, and why. */
  firstBad: { id: number; reason: string } | null;
  /** Rows removed by retention before the first kept row (the anchor stands for them). */
  anchoredUpTo: number;
}
