// Stored notices and answers. A notice version is never changed (a trigger refuses it): an edit
// is a new version, and answers name the versions they were given to.
import type { Database } from '../db/database.ts';
import {
  DEFAULT_NOTICES,
  type NoticeAnswerView,
  type NoticeDecision,
  type NoticeKind,
  type NoticeVersion,
} from '../../shared/privacy.ts';

interface NoticeRow {
  kind: NoticeKind;
  version: number;
  text: string;
  saved_at: string;
  saved_by_name: string | null;
}

interface AnswerRow {
  participant_id: string;
  decision: NoticeDecision;
  privacy_version: number;
  recording_version: number;
  at: number;
}

const toAnswer = (r: AnswerRow): NoticeAnswerView => ({
  decision: r.decision,
  privacyVersion: r.privacy_version,
  recordingVersion: r.recording_version,
  at: r.at,
});

export class NoticesRepo {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /** The organisation's newest version of a notice, or the shipped default (version 0). */
  current(organisationId: string, kind: NoticeKind): NoticeVersion {
    const row = this.db
      .prepare('SELECT kind, version, text, saved_at, saved_by_name FROM privacy_notices WHERE organisation_id = ? AND kind = ? ORDER BY version DESC LIMIT 1')
      .get(organisationId, kind) as NoticeRow | undefined;
    if (!row) return { kind, version: 0, text: DEFAULT_NOTICES[kind], savedAt: null, savedBy: null };
    return { kind, version: row.version, text: row.text, savedAt: row.saved_at, savedBy: row.saved_by_name };
  }

  /** Saves a new version (the next number) and returns it. */
  save(organisationId: string, kind: NoticeKind, text: string, by: { personId: string | null; name: string }): NoticeVersion {
    const savedAt = new Date().toISOString();
    // One statement: two coordinators saving at once cannot both get the same number.
    const row = this.db
      .prepare(
        `INSERT INTO privacy_notices (organisation_id, kind, version, text, saved_at, saved_by_person_id, saved_by_name)
         VALUES (?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM privacy_notices WHERE organisation_id = ? AND kind = ?), ?, ?, ?, ?)
         RETURNING version`,
      )
      .get(organisationId, kind, organisationId, kind, text, savedAt, by.personId, by.name) as { version: number };
    return { kind, version: row.version, text, savedAt, savedBy: by.name };
  }

  record(answer: { participantId: string; sessionId: string; privacyVersion: number; recordingVersion: number; decision: NoticeDecision; at: number }): NoticeAnswerView {
    this.db
      .prepare('INSERT INTO notice_answers (participant_id, session_id, privacy_version, recording_version, decision, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(answer.participantId, answer.sessionId, answer.privacyVersion, answer.recordingVersion, answer.decision, answer.at);
    return { decision: answer.decision, privacyVersion: answer.privacyVersion, recordingVersion: answer.recordingVersion, at: answer.at };
  }

  latest(participantId: string): NoticeAnswerView | null {
    const row = this.db
      .prepare('SELECT participant_id, decision, privacy_version, recording_version, at FROM notice_answers WHERE participant_id = ? ORDER BY at DESC, id DESC LIMIT 1')
      .get(participantId) as AnswerRow | undefined;
    return row ? toAnswer(row) : null;
  }

  /** The newest answer of each participant of a session who gave one. */
  latestInSession(sessionId: string): Map<string, NoticeAnswerView> {
    const rows = this.db
      .prepare('SELECT participant_id, decision, privacy_version, recording_version, at FROM notice_answers WHERE session_id = ? ORDER BY at ASC, id ASC')
      .all(sessionId) as unknown as AnswerRow[];
    const latest = new Map<string, NoticeAnswerView>();
    for (const row of rows) latest.set(row.participant_id, toAnswer(row));
    return latest;
  }
}
