// The studio's database: embedded SQLite through Node's built-in node:sqlite (no native
// addon) by default, PostgreSQL when DATABASE_URL is set (postgres/open-postgres.ts), behind
// one interface (engine.ts). SQLite's schema changes are numbered migrations tracked with
// PRAGMA user_version; PostgreSQL's schema is the same at the latest of them.
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateDir, ensurePrivateFile, tightenIfPresent } from '../data-dir.ts';
import { chainExistingAuditRows } from '../data-protection/audit-chain.ts';
import type { Database } from './engine.ts';
import { openPostgres } from './postgres/open-postgres.ts';
import { PostgresDatabase } from './postgres/postgres-database.ts';

export type { Database } from './engine.ts';

/** Where the studio's data lives: what threads of their own need to open it again. */
export type DatabaseLocation = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

export function databaseLocation(config: { dataDir: string; databaseUrl?: string | undefined }): DatabaseLocation {
  return config.databaseUrl ? { engine: 'postgres', url: config.databaseUrl } : { engine: 'sqlite', file: databaseFile(config.dataDir) };
}

/** The studio's database, its schema brought up to date (created, on an empty PostgreSQL database). */
export function openStudioDatabase(config: { dataDir: string; databaseUrl?: string | undefined }): Database {
  return config.databaseUrl ? openPostgres(config.databaseUrl, MIGRATIONS.length) : openDatabase(config.dataDir);
}

/**
 * Another connection to a database the studio has opened (and migrated) already, for a thread
 * of its own. SQLite's keeps the studio's durability and waits out other writers' locks.
 */
export function connectTo(location: DatabaseLocation, options: { readOnly?: boolean } = {}): Database {
  if (location.engine === 'postgres') return new PostgresDatabase(location.url, options);
  const db = new DatabaseSync(location.file, { readOnly: options.readOnly ?? false });
  db.exec('PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
  return db;
}

// Each organisation's own scenario bank and templates (issue 13). Rows with organisation_id ''
// are the shipped ones, shared by every organisation; an organisation's saved row of the same
// id hides the shared one for it alone. session_scenarios loses its foreign key to
// scenarios(id), which is no longer unique by itself. Tables are rebuilt (create, copy, drop,
// rename) with foreign keys on: nothing refers to the rebuilt tables once session_scenarios is
// rebuilt first. Existing rows become shared. Angoff estimates, made for a template, become
// the judging organisation's (that of the participant or person who saved them).
const ORGANISATION_CONTENT_MIGRATION = `CREATE TABLE session_scenarios_rebuilt (
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     number INTEGER NOT NULL,
     scenario_id TEXT NOT NULL,
     actor_participant_id TEXT REFERENCES participants(id),
     PRIMARY KEY (session_id, number)
   );
   INSERT INTO session_scenarios_rebuilt (session_id, number, scenario_id, actor_participant_id)
     SELECT session_id, number, scenario_id, actor_participant_id FROM session_scenarios;
   DROP TABLE session_scenarios;
   ALTER TABLE session_scenarios_rebuilt RENAME TO session_scenarios;
   CREATE TABLE scenarios_rebuilt (
     organisation_id TEXT NOT NULL DEFAULT '',
     id TEXT NOT NULL,
     level TEXT NOT NULL,
     case_family TEXT,
     ord INTEGER,
     supervision INTEGER NOT NULL,
     body TEXT NOT NULL,
     archived INTEGER NOT NULL DEFAULT 0,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, id)
   );
   INSERT INTO scenarios_rebuilt (organisation_id, id, level, case_family, ord, supervision, body, archived, updated_at)
     SELECT '', id, level, case_family, ord, supervision, body, archived, updated_at FROM scenarios;
   DROP TABLE scenarios;
   ALTER TABLE scenarios_rebuilt RENAME TO scenarios;
   CREATE TABLE templates_rebuilt (
     organisation_id TEXT NOT NULL DEFAULT '',
     id TEXT NOT NULL,
     version INTEGER NOT NULL,
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, id, version)
   );
   INSERT INTO templates_rebuilt (organisation_id, id, version, body, created_at)
     SELECT '', id, version, body, created_at FROM templates;
   DROP TABLE templates;
   ALTER TABLE templates_rebuilt RENAME TO templates;
   CREATE TABLE angoff_estimates_rebuilt (
     organisation_id TEXT NOT NULL DEFAULT '',
     template_id TEXT NOT NULL,
     judge_name TEXT NOT NULL,
     item_id TEXT NOT NULL,
     estimate REAL NOT NULL,
     by_participant_id TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, template_id, judge_name, item_id)
   );
   INSERT INTO angoff_estimates_rebuilt (organisation_id, template_id, judge_name, item_id, estimate, by_participant_id, updated_at)
     SELECT COALESCE(
              (SELECT s.organisation_id FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.id = a.by_participant_id),
              (SELECT organisation_id FROM people WHERE id = a.by_participant_id),
              ''),
            template_id, judge_name, item_id, estimate, by_participant_id, updated_at
     FROM angoff_estimates a ORDER BY a.rowid;
   DROP TABLE angoff_estimates;
   ALTER TABLE angoff_estimates_rebuilt RENAME TO angoff_estimates;`;

// Retention, legal holds and erasure (issue 15 items 6, 7). Periods per organisation and data
// class; holds set by hand (a result review open on a session holds it too, read from
// result_reviews); one row per erasure (what was kept, and why). The audit log gets its hash
// chain (server/data-protection/audit-chain.ts). Protected rows (the audit log, frozen written
// exercises, signed-off marks, reviews, calibration records) still refuse ordinary changes;
// the one way through is a data_protection_pass row, which the erasure or retention run
// inserts and deletes inside its own transaction (nobody else ever sees one): with it, an
// erasure may replace only the personal columns, and retention may delete only what the pass
// names (a session's frozen text; audit rows up to the anchor).
const DATA_PROTECTION_SQL = `CREATE TABLE retention_periods (
     organisation_id TEXT NOT NULL REFERENCES organisations(id),
     data_class TEXT NOT NULL CHECK (data_class IN ('recordings', 'writtenWork', 'marksAndResults', 'audit', 'equalities', 'emailLog')),
     days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 36500),
     updated_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, data_class)
   );
   CREATE TABLE legal_holds (
     id TEXT PRIMARY KEY,
     organisation_id TEXT NOT NULL REFERENCES organisations(id),
     session_id TEXT NOT NULL REFERENCES sessions(id),
     reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
     set_by_person_id TEXT,
     set_at TEXT NOT NULL,
     released_at TEXT,
     released_by_person_id TEXT,
     release_reason TEXT,
     CHECK ((released_at IS NULL) = (release_reason IS NULL))
   );
   CREATE INDEX legal_holds_open ON legal_holds(session_id) WHERE released_at IS NULL;
   CREATE TRIGGER legal_holds_released_once BEFORE UPDATE ON legal_holds
     WHEN OLD.released_at IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.session_id IS NOT OLD.session_id OR NEW.reason IS NOT OLD.reason
       OR NEW.set_by_person_id IS NOT OLD.set_by_person_id OR NEW.set_at IS NOT OLD.set_at OR NEW.organisation_id IS NOT OLD.organisation_id
     BEGIN SELECT RAISE(ABORT, 'a legal hold is released once and otherwise never changed'); END;
   CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds
     BEGIN SELECT RAISE(ABORT, 'legal holds are released, never deleted'); END;
   CREATE TABLE erasures (
     id TEXT PRIMARY KEY,
     organisation_id TEXT NOT NULL REFERENCES organisations(id),
     person_id TEXT NOT NULL,
     pseudonym TEXT NOT NULL,
     reason TEXT NOT NULL,
     results_kept_reason TEXT,
     results_kept_sessions TEXT NOT NULL DEFAULT '[]',
     erased_by_person_id TEXT,
     erased_at TEXT NOT NULL,
     report TEXT NOT NULL
   );
   CREATE TRIGGER erasures_no_update BEFORE UPDATE ON erasures
     BEGIN SELECT RAISE(ABORT, 'an erasure record never changes'); END;
   -- A written exercise whose frozen text retention removed: never frozen again (on restart).
   CREATE TABLE written_removed (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id),
     removed_at TEXT NOT NULL
   );
   CREATE TABLE data_protection_pass (
     pass_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('erasure', 'retention')),
     session_id TEXT
   );
   CREATE TRIGGER audit_log_chained BEFORE INSERT ON audit_log
     WHEN NEW.personal_salt IS NULL OR NEW.personal_digest IS NULL OR NEW.row_hash IS NULL OR NEW.pseudonymised_by IS NOT NULL
       OR NEW.prev_hash IS NOT COALESCE((SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1), (SELECT row_hash FROM audit_anchor WHERE id = 1), '')
     BEGIN SELECT RAISE(ABORT, 'an audit row must extend the hash chain'); END;
   CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE pass_id = NEW.pseudonymised_by)
       OR NEW.personal_salt IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.session_id IS NOT OLD.session_id
       OR NEW.actor_participant_id IS NOT OLD.actor_participant_id OR NEW.actor_role IS NOT OLD.actor_role OR NEW.action IS NOT OLD.action
       OR NEW.actor_person_id IS NOT OLD.actor_person_id OR NEW.organisation_id IS NOT OLD.organisation_id
       OR NEW.personal_digest IS NOT OLD.personal_digest OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.row_hash IS NOT OLD.row_hash
     BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'retention')
       OR OLD.id > COALESCE((SELECT upto_id FROM audit_anchor WHERE id = 1), 0)
     BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
   CREATE TRIGGER audit_anchor_insert BEFORE INSERT ON audit_anchor
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'retention')
     BEGIN SELECT RAISE(ABORT, 'only a retention run moves the audit anchor'); END;
   CREATE TRIGGER audit_anchor_update BEFORE UPDATE ON audit_anchor
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'retention') OR NEW.upto_id < OLD.upto_id
     BEGIN SELECT RAISE(ABORT, 'only a retention run moves the audit anchor, and only forward'); END;
   CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
     BEGIN SELECT RAISE(ABORT, 'the audit anchor is never deleted'); END;
   DROP TRIGGER written_snapshots_no_update;
   DROP TRIGGER written_snapshots_no_delete;
   CREATE TRIGGER written_snapshots_no_update BEFORE UPDATE ON written_snapshots
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure' AND session_id = OLD.session_id)
       OR NEW.session_id IS NOT OLD.session_id OR NEW.frozen_at IS NOT OLD.frozen_at
     BEGIN SELECT RAISE(ABORT, 'a frozen written exercise cannot change'); END;
   CREATE TRIGGER written_snapshots_no_delete BEFORE DELETE ON written_snapshots
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'retention' AND session_id = OLD.session_id)
     BEGIN SELECT RAISE(ABORT, 'a frozen written exercise cannot be deleted'); END;
   DROP TRIGGER moderated_marks_locked_update;
   DROP TRIGGER moderated_marks_review_update;
   CREATE TRIGGER moderated_marks_locked_update BEFORE UPDATE ON moderated_marks
     WHEN (SELECT status FROM moderation_results WHERE session_id = OLD.session_id) = 'signedOff'
       AND NOT (EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure' AND session_id = OLD.session_id)
         AND NEW.session_id IS OLD.session_id AND NEW.part IS OLD.part AND NEW.item_id IS OLD.item_id AND NEW.rating IS OLD.rating
         AND NEW.by_participant_id IS OLD.by_participant_id AND NEW.at IS OLD.at)
     BEGIN SELECT RAISE(ABORT, 'the result is signed off'); END;
   CREATE TRIGGER moderated_marks_review_update BEFORE UPDATE ON moderated_marks
     WHEN (SELECT status FROM moderation_results WHERE session_id = OLD.session_id) = 'underReview'
       AND NEW.by_participant_id IS NOT (SELECT reviewer_participant_id FROM result_reviews WHERE session_id = OLD.session_id AND decided_at IS NULL)
       AND NOT (EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure' AND session_id = OLD.session_id)
         AND NEW.session_id IS OLD.session_id AND NEW.part IS OLD.part AND NEW.item_id IS OLD.item_id AND NEW.rating IS OLD.rating
         AND NEW.by_participant_id IS OLD.by_participant_id AND NEW.at IS OLD.at)
     BEGIN SELECT RAISE(ABORT, 'while a review is open only its reviewer changes marks'); END;
   DROP TRIGGER moderation_results_signed_off;
   CREATE TRIGGER moderation_results_signed_off BEFORE UPDATE ON moderation_results
     WHEN OLD.status = 'signedOff' AND (
       NEW.status NOT IN ('signedOff', 'underReview')
       OR NEW.outcome IS NOT OLD.outcome OR NEW.signed_off_at IS NOT OLD.signed_off_at OR NEW.signed_off_by IS NOT OLD.signed_off_by
       OR NEW.evidence IS NOT OLD.evidence OR NEW.started_at IS NOT OLD.started_at OR NEW.session_id IS NOT OLD.session_id)
       AND NOT (EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure' AND session_id = OLD.session_id)
         AND NEW.status IS OLD.status AND NEW.outcome IS OLD.outcome AND NEW.signed_off_at IS OLD.signed_off_at AND NEW.signed_off_by IS OLD.signed_off_by
         AND NEW.started_at IS OLD.started_at AND NEW.session_id IS OLD.session_id)
     BEGIN SELECT RAISE(ABORT, 'the result is signed off: it changes only through an independent review'); END;
   DROP TRIGGER result_reviews_decided_once;
   CREATE TRIGGER result_reviews_decided_once BEFORE UPDATE ON result_reviews
     WHEN (OLD.decided_at IS NOT NULL OR NEW.reviewer_name IS NOT OLD.reviewer_name OR NEW.reasons IS NOT OLD.reasons
       OR NEW.reviewer_role IS NOT OLD.reviewer_role OR NEW.opened_by IS NOT OLD.opened_by OR NEW.opened_at IS NOT OLD.opened_at)
       AND NOT (EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure' AND session_id = OLD.session_id)
         AND NEW.id IS OLD.id AND NEW.session_id IS OLD.session_id AND NEW.reviewer_role IS OLD.reviewer_role AND NEW.opened_by IS OLD.opened_by
         AND NEW.opened_at IS OLD.opened_at AND NEW.decision IS OLD.decision AND NEW.decided_by IS OLD.decided_by AND NEW.decided_at IS OLD.decided_at
         AND NEW.reviewer_participant_id IS OLD.reviewer_participant_id)
     BEGIN SELECT RAISE(ABORT, 'a review record cannot be changed once written'); END;
   DROP TRIGGER calibration_cases_no_update;
   DROP TRIGGER calibration_attempts_no_update;
   CREATE TRIGGER calibration_cases_no_update BEFORE UPDATE ON calibration_cases
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure')
       OR NEW.id IS NOT OLD.id OR NEW.session_id IS NOT OLD.session_id OR NEW.scenario IS NOT OLD.scenario OR NEW.level IS NOT OLD.level
       OR NEW.reference IS NOT OLD.reference OR NEW.created_by_participant_id IS NOT OLD.created_by_participant_id OR NEW.created_at IS NOT OLD.created_at
     BEGIN SELECT RAISE(ABORT, 'a calibration case is never changed'); END;
   CREATE TRIGGER calibration_attempts_no_update BEFORE UPDATE ON calibration_attempts
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure')
       OR NEW.case_id IS NOT OLD.case_id OR NEW.participant_id IS NOT OLD.participant_id OR NEW.ratings IS NOT OLD.ratings
       OR NEW.global IS NOT OLD.global OR NEW.passed IS NOT OLD.passed OR NEW.submitted_at IS NOT OLD.submitted_at
     BEGIN SELECT RAISE(ABORT, 'a calibration attempt is submitted once'); END;
   DROP TRIGGER privacy_notices_immutable;
   CREATE TRIGGER privacy_notices_immutable BEFORE UPDATE ON privacy_notices
     WHEN NOT EXISTS (SELECT 1 FROM data_protection_pass WHERE kind = 'erasure')
       OR NEW.organisation_id IS NOT OLD.organisation_id OR NEW.kind IS NOT OLD.kind OR NEW.version IS NOT OLD.version
       OR NEW.saved_at IS NOT OLD.saved_at OR NEW.saved_by_person_id IS NOT OLD.saved_by_person_id
     BEGIN SELECT RAISE(ABORT, 'a notice version never changes: save a new one'); END;`;

/**
 * Several studio nodes (server/cluster/session-leases.ts): which node holds a session (a lease
 * with a fencing token, raised by every takeover), and which node wrote each recording segment
 * (a node completes only its own segments cut off by a crash). Mirrored for PostgreSQL in
 * schema.sql and, for a database created before it, in open-postgres.ts.
 */
const SESSION_LEASES_MIGRATION = `ALTER TABLE recordings ADD COLUMN node TEXT;
   CREATE TABLE session_leases (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
     node TEXT NOT NULL,
     token INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   );`;

/**
 * Which studio nodes are alive (server/cluster/node-presence.ts): each stamps its row every
 * second; a node silent for long is gone, and another node completes the segments it cut. The
 * address is how the others reach it (server/cluster/session-proxy.ts).
 * Mirrored for PostgreSQL in schema.sql and open-postgres.ts.
 */
const CLUSTER_NODES_MIGRATION = `CREATE TABLE cluster_nodes (
     node TEXT PRIMARY KEY,
     seen_at INTEGER NOT NULL,
     address TEXT
   );`;

/** A schema change: SQL, or (where a value must be computed, like the audit chain) code. */
type Migration = string | ((db: DatabaseSync) => void);

const DATA_PROTECTION_MIGRATION: Migration = (db) => {
  chainExistingAuditRows(db);
  db.exec(DATA_PROTECTION_SQL);
};

const MIGRATIONS: Migration[] = [
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     level TEXT NOT NULL CHECK (level IN ('practitioner', 'supervisor')),
     created_at TEXT NOT NULL
   );
   CREATE TABLE participants (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     role TEXT NOT NULL,
     display_name TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX participants_by_session ON participants(session_id);
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at TEXT NOT NULL,
     session_id TEXT,
     actor_participant_id TEXT,
     action TEXT NOT NULL,
     detail TEXT NOT NULL DEFAULT '{}'
   );
   -- The audit log is append-only: nobody edits or deletes what happened.
   CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
   CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;`,
  // The assessment day: scenario bank, versioned templates, each session's plan, scenario
  // draw and day state.
  `CREATE TABLE scenarios (
     id TEXT PRIMARY KEY,
     level TEXT NOT NULL,
     case_family TEXT,
     ord INTEGER,
     supervision INTEGER NOT NULL,
     body TEXT NOT NULL,
     archived INTEGER NOT NULL DEFAULT 0,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE templates (
     id TEXT NOT NULL,
     version INTEGER NOT NULL,
     body TEXT NOT NULL,
     created_at TEXT NOT NULL,
     PRIMARY KEY (id, version)
   );
   CREATE TABLE session_plans (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
     template TEXT NOT NULL,
     adjustments TEXT NOT NULL,
     scheduled_start INTEGER,
     candidate_ref TEXT
   );
   CREATE INDEX session_plans_by_candidate ON session_plans(candidate_ref);
   CREATE TABLE session_scenarios (
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     number INTEGER NOT NULL,
     scenario_id TEXT NOT NULL REFERENCES scenarios(id),
     actor_participant_id TEXT REFERENCES participants(id),
     PRIMARY KEY (session_id, number)
   );
   CREATE TABLE assessment_days (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
     status TEXT NOT NULL,
     phases TEXT NOT NULL,
     phase_index INTEGER NOT NULL,
     phase_started_at INTEGER,
     deadline INTEGER,
     paused_at INTEGER,
     updated_at INTEGER NOT NULL
   );`,
  // Collaborative documents (Yjs): an append-only update log, compacted into snapshots.
  `CREATE TABLE collab_updates (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     doc TEXT NOT NULL,
     update_data BLOB NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX collab_updates_by_doc ON collab_updates(doc, id);
   CREATE TABLE collab_snapshots (
     doc TEXT PRIMARY KEY,
     state BLOB NOT NULL,
     upto_id INTEGER NOT NULL,
     at INTEGER NOT NULL
   );`,
  // The written exercise: when writing closed, and the frozen, immutable final text.
  `CREATE TABLE written_state (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
     closed_at INTEGER NOT NULL
   );
   CREATE TABLE written_snapshots (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id),
     frozen_at INTEGER NOT NULL,
     text TEXT NOT NULL,
     state BLOB NOT NULL,
     sha256 TEXT NOT NULL
   );
   CREATE TRIGGER written_snapshots_no_update BEFORE UPDATE ON written_snapshots
     BEGIN SELECT RAISE(ABORT, 'a frozen written exercise cannot change'); END;
   CREATE TRIGGER written_snapshots_no_delete BEFORE DELETE ON written_snapshots
     BEGIN SELECT RAISE(ABORT, 'a frozen written exercise cannot be deleted'); END;`,
  // Recordings: one row per segment file (per on-stage participant, per phase).
  `CREATE TABLE recordings (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     phase_index INTEGER NOT NULL,
     scenario_key TEXT NOT NULL,
     participant_id TEXT NOT NULL,
     segment INTEGER NOT NULL,
     phase_started_at INTEGER NOT NULL,
     file TEXT NOT NULL,
     status TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     ended_at INTEGER,
     bytes INTEGER,
     sha256 TEXT,
     duration_ms INTEGER,
     chunks INTEGER NOT NULL DEFAULT 0,
     deleted_at INTEGER
   );
   CREATE INDEX recordings_by_session ON recordings(session_id, phase_index);`,
  // Moderation and results. The moderator's marks, the sign-off that locks them, independent
  // reviews (append-only, decided once) and organisation settings (the sampling rule). Every
  // change is also in the append-only audit log. Triggers refuse changes to a signed-off
  // result even if a bug in the service tried one.
  `ALTER TABLE session_plans ADD COLUMN employer_name TEXT;
   ALTER TABLE session_plans ADD COLUMN employer_consent INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE session_plans ADD COLUMN retake_of TEXT REFERENCES sessions(id);
   ALTER TABLE session_plans ADD COLUMN retake_element TEXT CHECK (retake_element IN ('observation', 'written'));
   CREATE TABLE moderation_results (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id),
     status TEXT NOT NULL CHECK (status IN ('moderating', 'signedOff', 'underReview')),
     started_at TEXT NOT NULL,
     signed_off_at TEXT,
     signed_off_by TEXT REFERENCES participants(id),
     outcome TEXT,
     evidence TEXT
   );
   CREATE TABLE moderated_marks (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     part TEXT NOT NULL,
     item_id TEXT NOT NULL,
     rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
     rationale TEXT NOT NULL CHECK (length(trim(rationale)) > 0),
     by_participant_id TEXT NOT NULL REFERENCES participants(id),
     at TEXT NOT NULL,
     PRIMARY KEY (session_id, part, item_id)
   );
   CREATE TRIGGER moderated_marks_locked_insert BEFORE INSERT ON moderated_marks
     WHEN (SELECT status FROM moderation_results WHERE session_id = NEW.session_id) = 'signedOff'
     BEGIN SELECT RAISE(ABORT, 'the result is signed off'); END;
   CREATE TRIGGER moderated_marks_locked_update BEFORE UPDATE ON moderated_marks
     WHEN (SELECT status FROM moderation_results WHERE session_id = OLD.session_id) = 'signedOff'
     BEGIN SELECT RAISE(ABORT, 'the result is signed off'); END;
   CREATE TRIGGER moderated_marks_no_delete BEFORE DELETE ON moderated_marks
     BEGIN SELECT RAISE(ABORT, 'moderated marks are changed, never deleted'); END;
   CREATE TABLE result_reviews (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     reviewer_name TEXT NOT NULL,
     reviewer_role TEXT NOT NULL,
     reasons TEXT NOT NULL,
     opened_by TEXT NOT NULL REFERENCES participants(id),
     opened_at TEXT NOT NULL,
     decision TEXT,
     decision_reasons TEXT,
     decided_by TEXT REFERENCES participants(id),
     decided_at TEXT
   );
   CREATE INDEX result_reviews_by_session ON result_reviews(session_id, opened_at);
   CREATE UNIQUE INDEX one_open_review ON result_reviews(session_id) WHERE decided_at IS NULL;
   -- A review is decided once; what was recorded is never edited or deleted.
   CREATE TRIGGER result_reviews_decided_once BEFORE UPDATE ON result_reviews
     WHEN OLD.decided_at IS NOT NULL OR NEW.reviewer_name IS NOT OLD.reviewer_name OR NEW.reasons IS NOT OLD.reasons
       OR NEW.reviewer_role IS NOT OLD.reviewer_role OR NEW.opened_by IS NOT OLD.opened_by OR NEW.opened_at IS NOT OLD.opened_at
     BEGIN SELECT RAISE(ABORT, 'a review record cannot be changed once written'); END;
   CREATE TRIGGER result_reviews_no_delete BEFORE DELETE ON result_reviews
     BEGIN SELECT RAISE(ABORT, 'review records cannot be deleted'); END;
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );`,
  // Results that one person cannot overturn (issue 11, row 8). The audit log stores the acting
  // person (name and role as they were), not only an id. A review names its reviewer as a
  // participant record: a moderator, not the signer-off, not the opener; only that reviewer
  // decides it and, while it is open, changes marks. A signed-off outcome changes only to a
  // decided review's outcome, and the result row is never deleted.
  `ALTER TABLE audit_log ADD COLUMN actor_name TEXT;
   ALTER TABLE audit_log ADD COLUMN actor_role TEXT;
   ALTER TABLE result_reviews ADD COLUMN reviewer_participant_id TEXT REFERENCES participants(id);
   CREATE TRIGGER result_reviews_independent BEFORE INSERT ON result_reviews
     WHEN NEW.reviewer_participant_id IS NULL
       OR NEW.reviewer_participant_id = NEW.opened_by
       OR (SELECT role FROM participants WHERE id = NEW.reviewer_participant_id) IS NOT 'moderator'
       OR NEW.reviewer_participant_id IS (SELECT signed_off_by FROM moderation_results WHERE session_id = NEW.session_id)
       OR (SELECT status FROM moderation_results WHERE session_id = NEW.session_id) IS NOT 'signedOff'
     BEGIN SELECT RAISE(ABORT, 'a review needs a signed-off result and an independent moderator as its named reviewer'); END;
   CREATE TRIGGER result_reviews_reviewer_decides BEFORE UPDATE ON result_reviews
     WHEN NEW.reviewer_participant_id IS NOT OLD.reviewer_participant_id
       OR (NEW.decided_at IS NOT NULL AND NEW.decided_by IS NOT OLD.reviewer_participant_id)
     BEGIN SELECT RAISE(ABORT, 'only the named reviewer decides a review'); END;
   CREATE TRIGGER moderated_marks_review_insert BEFORE INSERT ON moderated_marks
     WHEN (SELECT status FROM moderation_results WHERE session_id = NEW.session_id) = 'underReview'
       AND NEW.by_participant_id IS NOT (SELECT reviewer_participant_id FROM result_reviews WHERE session_id = NEW.session_id AND decided_at IS NULL)
     BEGIN SELECT RAISE(ABORT, 'while a review is open only its reviewer changes marks'); END;
   CREATE TRIGGER moderated_marks_review_update BEFORE UPDATE ON moderated_marks
     WHEN (SELECT status FROM moderation_results WHERE session_id = OLD.session_id) = 'underReview'
       AND NEW.by_participant_id IS NOT (SELECT reviewer_participant_id FROM result_reviews WHERE session_id = OLD.session_id AND decided_at IS NULL)
     BEGIN SELECT RAISE(ABORT, 'while a review is open only its reviewer changes marks'); END;
   CREATE TRIGGER moderation_results_signed_off BEFORE UPDATE ON moderation_results
     WHEN OLD.status = 'signedOff' AND (
       NEW.status NOT IN ('signedOff', 'underReview')
       OR NEW.outcome IS NOT OLD.outcome OR NEW.signed_off_at IS NOT OLD.signed_off_at OR NEW.signed_off_by IS NOT OLD.signed_off_by
       OR NEW.evidence IS NOT OLD.evidence OR NEW.started_at IS NOT OLD.started_at OR NEW.session_id IS NOT OLD.session_id)
     BEGIN SELECT RAISE(ABORT, 'the result is signed off: it changes only through an independent review'); END;
   CREATE TRIGGER moderation_results_review_opens BEFORE UPDATE ON moderation_results
     WHEN OLD.status = 'signedOff' AND NEW.status = 'underReview'
       AND NOT EXISTS (SELECT 1 FROM result_reviews WHERE session_id = OLD.session_id AND decided_at IS NULL)
     BEGIN SELECT RAISE(ABORT, 'only an open independent review puts a signed-off result under review'); END;
   CREATE TRIGGER moderation_results_review_decides BEFORE UPDATE ON moderation_results
     WHEN OLD.status = 'underReview' AND (
       NEW.status NOT IN ('underReview', 'signedOff')
       OR NEW.signed_off_at IS NOT OLD.signed_off_at OR NEW.signed_off_by IS NOT OLD.signed_off_by
       OR NEW.evidence IS NOT OLD.evidence OR NEW.started_at IS NOT OLD.started_at OR NEW.session_id IS NOT OLD.session_id
       OR (NEW.status = 'underReview' AND NEW.outcome IS NOT OLD.outcome)
       OR (NEW.status = 'signedOff' AND (
         EXISTS (SELECT 1 FROM result_reviews WHERE session_id = OLD.session_id AND decided_at IS NULL)
         OR NEW.outcome IS NOT (SELECT decision FROM result_reviews WHERE session_id = OLD.session_id AND decided_at IS NOT NULL
                                ORDER BY decided_at DESC, rowid DESC LIMIT 1))))
     BEGIN SELECT RAISE(ABORT, 'a result under review changes only by its reviewer''s recorded decision'); END;
   CREATE TRIGGER moderation_results_no_delete BEFORE DELETE ON moderation_results
     BEGIN SELECT RAISE(ABORT, 'a moderation result cannot be deleted'); END;`,
  // Written exercise deadlines that cannot be reopened (issue 11, rows 5, 6). The window's
  // deadline as last stored while the phase ran, so that a server that was down across it
  // closes writing at that deadline, not at a later phase's start; whether a candidate
  // connection was open when writing closed (then nobody gets the reconnection grace); and
  // a close, once stored, never changes.
  `CREATE TABLE written_windows (
     session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
     deadline INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   ALTER TABLE written_state ADD COLUMN candidate_online INTEGER NOT NULL DEFAULT 0 CHECK (candidate_online IN (0, 1));
   CREATE TRIGGER written_state_no_update BEFORE UPDATE ON written_state
     BEGIN SELECT RAISE(ABORT, 'a closed written exercise cannot reopen'); END;`,
  // Pre-join test calls (issue 12): each participant's checks, newest shown on the board.
  // The columns the board reads, and the whole validated result as JSON.
  `CREATE TABLE test_calls (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     at INTEGER NOT NULL,
     passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
     failed_step TEXT CHECK (failed_step IN ('browser', 'camera', 'microphone', 'speakers', 'connection')),
     path TEXT CHECK (path IN ('udp', 'tcp', 'relay')),
     rtt_ms INTEGER,
     upload_kbps INTEGER,
     browser TEXT NOT NULL,
     result TEXT NOT NULL
   );
   CREATE INDEX test_calls_by_participant ON test_calls(participant_id, at);
   CREATE INDEX test_calls_by_session ON test_calls(session_id, at);`,
  // Evidence-grade recording (issue 17): where each file's zero lies on the sender's wall clock
  // (from its RTCP sender reports) and how its frames were timed.
  `ALTER TABLE recordings ADD COLUMN sender_started_at INTEGER;
   ALTER TABLE recordings ADD COLUMN timing TEXT CHECK (timing IN ('sender-report', 'arrival'));`,
  // Standard setting by modified Angoff (issue 14): each judge's estimate, per template and item,
  // of the rating a borderline candidate would get. One row per judge and item; saving replaces.
  // A judge is known by name until people accounts exist (issue 13; see the judge_id migration).
  `CREATE TABLE angoff_estimates (
     template_id TEXT NOT NULL,
     judge_name TEXT NOT NULL,
     item_id TEXT NOT NULL,
     estimate REAL NOT NULL,
     by_participant_id TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (template_id, judge_name, item_id)
   );`,
  // Equalities monitoring (issue 14): a candidate's voluntary answers, apart from assessment
  // data, keyed by their candidate reference (what links a person across sessions) and joined
  // to no other table. Asked once: answered or declined, a row never changes (it may still be
  // erased on request).
  `CREATE TABLE equalities_answers (
     candidate_ref TEXT PRIMARY KEY,
     declined INTEGER NOT NULL CHECK (declined IN (0, 1)),
     age_band TEXT,
     sex TEXT,
     ethnicity TEXT,
     disability TEXT,
     first_language_english TEXT,
     answered_at TEXT NOT NULL,
     CHECK ((declined = 1) = (age_band IS NULL AND sex IS NULL AND ethnicity IS NULL AND disability IS NULL AND first_language_english IS NULL)),
     CHECK (declined = 1 OR (age_band IS NOT NULL AND sex IS NOT NULL AND ethnicity IS NOT NULL AND disability IS NOT NULL AND first_language_english IS NOT NULL))
   );
   CREATE TRIGGER equalities_answers_once BEFORE UPDATE ON equalities_answers
     BEGIN SELECT RAISE(ABORT, 'equalities answers are given once'); END;`,
  // Observer calibration (issue 14): a consented recorded scenario of a signed-off session as a
  // case, with the reference marks copied when it is made (later moderation does not move them)
  // and who confirmed the consent, when. Each observer (known by name until people accounts
  // exist, issue 13) submits one attempt per case; cases and attempts are never changed.
  `CREATE TABLE calibration_cases (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     scenario INTEGER NOT NULL CHECK (scenario BETWEEN 1 AND 3),
     title TEXT NOT NULL,
     level TEXT NOT NULL,
     reference TEXT NOT NULL,
     consent_candidate INTEGER NOT NULL CHECK (consent_candidate = 1),
     consent_actor INTEGER NOT NULL CHECK (consent_actor = 1),
     created_by_participant_id TEXT NOT NULL,
     created_by_name TEXT NOT NULL,
     created_at TEXT NOT NULL,
     UNIQUE (session_id, scenario)
   );
   CREATE TABLE calibration_attempts (
     case_id TEXT NOT NULL REFERENCES calibration_cases(id),
     observer_key TEXT NOT NULL,
     observer_name TEXT NOT NULL,
     participant_id TEXT NOT NULL,
     ratings TEXT NOT NULL,
     global INTEGER NOT NULL CHECK (global BETWEEN 1 AND 7),
     passed INTEGER NOT NULL CHECK (passed IN (0, 1)),
     submitted_at TEXT NOT NULL,
     PRIMARY KEY (case_id, observer_key)
   );
   CREATE TRIGGER calibration_cases_no_update BEFORE UPDATE ON calibration_cases
     BEGIN SELECT RAISE(ABORT, 'a calibration case is never changed'); END;
   CREATE TRIGGER calibration_cases_no_delete BEFORE DELETE ON calibration_cases
     BEGIN SELECT RAISE(ABORT, 'a calibration case is never deleted'); END;
   CREATE TRIGGER calibration_attempts_no_update BEFORE UPDATE ON calibration_attempts
     BEGIN SELECT RAISE(ABORT, 'a calibration attempt is submitted once'); END;
   CREATE TRIGGER calibration_attempts_no_delete BEFORE DELETE ON calibration_attempts
     BEGIN SELECT RAISE(ABORT, 'a calibration attempt is never deleted'); END;`,
  // People and organisations (issue 13). Each person belongs to one organisation and holds
  // roles there; a session belongs to an organisation and each participant is one person's
  // place in it. Existing data moves into one organisation, each old participant becoming a
  // person. Staff sign-in sessions and magic links are stored by the SHA-256 of their secret,
  // never the secret. The audit log names the acting person and organisation from here on.
  `CREATE TABLE organisations (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE TABLE people (
     id TEXT PRIMARY KEY,
     organisation_id TEXT NOT NULL REFERENCES organisations(id),
     display_name TEXT NOT NULL,
     email TEXT,
     candidate_ref TEXT,
     created_at TEXT NOT NULL,
     removed_at TEXT
   );
   CREATE UNIQUE INDEX people_email ON people(organisation_id, email) WHERE email IS NOT NULL AND removed_at IS NULL;
   CREATE INDEX people_by_email ON people(email);
   CREATE TABLE person_roles (
     person_id TEXT NOT NULL REFERENCES people(id),
     role TEXT NOT NULL CHECK (role IN ('administrator', 'coordinator', 'moderator', 'reviewer', 'leadObserver', 'observer', 'actor', 'candidate', 'analyst')),
     PRIMARY KEY (person_id, role)
   );
   CREATE TABLE staff_sessions (
     id TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL UNIQUE,
     person_id TEXT NOT NULL REFERENCES people(id),
     method TEXT NOT NULL,
     user_agent TEXT NOT NULL,
     created_at TEXT NOT NULL,
     last_seen_at TEXT NOT NULL,
     absolute_expires_at TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE INDEX staff_sessions_by_person ON staff_sessions(person_id);
   CREATE TABLE magic_links (
     token_hash TEXT PRIMARY KEY,
     person_id TEXT NOT NULL REFERENCES people(id),
     browser_hash TEXT,
     purpose TEXT NOT NULL,
     created_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     used_at TEXT
   );
   ALTER TABLE sessions ADD COLUMN organisation_id TEXT REFERENCES organisations(id);
   ALTER TABLE participants ADD COLUMN person_id TEXT REFERENCES people(id);
   CREATE INDEX participants_by_person ON participants(person_id);
   ALTER TABLE audit_log ADD COLUMN actor_person_id TEXT;
   ALTER TABLE audit_log ADD COLUMN organisation_id TEXT;
   INSERT INTO organisations (id, name, created_at)
     SELECT 'org-existing', 'SimStudio', datetime('now') WHERE EXISTS (SELECT 1 FROM sessions);
   UPDATE sessions SET organisation_id = 'org-existing';
   INSERT INTO people (id, organisation_id, display_name, created_at)
     SELECT 'person-' || id, 'org-existing', display_name, created_at FROM participants;
   INSERT INTO person_roles (person_id, role)
     SELECT 'person-' || id, role FROM participants;
   UPDATE people SET candidate_ref = (
     SELECT sp.candidate_ref FROM participants p JOIN session_plans sp ON sp.session_id = p.session_id
     WHERE 'person-' || p.id = people.id AND p.role = 'candidate');
   UPDATE participants SET person_id = 'person-' || id;`,
  // Single sign-on per organisation (issue 13): its OpenID provider, the sign-ins in progress
  // (kept server-side, keyed by the hash of a cookie of the browser that started them: they hold
  // the PKCE verifier), and each person's provider identity once they have signed in with it.
  `CREATE TABLE organisation_sso (
     organisation_id TEXT PRIMARY KEY REFERENCES organisations(id),
     issuer TEXT NOT NULL,
     client_id TEXT NOT NULL,
     client_secret TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE oidc_attempts (
     browser_hash TEXT PRIMARY KEY,
     organisation_id TEXT NOT NULL,
     pending TEXT NOT NULL,
     expires_at TEXT NOT NULL
   );
   CREATE TABLE person_identities (
     issuer TEXT NOT NULL,
     subject TEXT NOT NULL,
     person_id TEXT NOT NULL REFERENCES people(id),
     linked_at TEXT NOT NULL,
     PRIMARY KEY (issuer, subject)
   );`,
  // Mail outbox (issue 13): every message the studio sends and its delivery state; the queued
  // rows are the send queue (server/mail/). organisation_id is null for the studio's own mail.
  `CREATE TABLE mail_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     organisation_id TEXT,
     to_address TEXT NOT NULL,
     subject TEXT NOT NULL,
     text_body TEXT NOT NULL,
     html_body TEXT,
     kind TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'logged')),
     attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
     last_error TEXT,
     created_at TEXT NOT NULL,
     sent_at TEXT,
     next_attempt_at TEXT,
     message_id TEXT,
     CHECK ((status = 'queued') = (next_attempt_at IS NOT NULL)),
     CHECK ((status IN ('sent', 'logged')) = (sent_at IS NOT NULL))
   );
   CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at) WHERE status = 'queued';
   CREATE INDEX mail_outbox_by_organisation ON mail_outbox(organisation_id, id);`,
  // Invite links that can be revoked and reissued (issue 13): each link a candidate or actor
  // holds names one of these rows (the token's jti), valid from booking until the session's
  // end plus the result period; revoking it ends the link and every browser signed in with it.
  `CREATE TABLE invite_links (
     id TEXT PRIMARY KEY,
     participant_id TEXT NOT NULL REFERENCES participants(id),
     issued_at TEXT NOT NULL,
     valid_until TEXT NOT NULL,
     revoked_at TEXT
   );
   CREATE INDEX invite_links_by_participant ON invite_links(participant_id);`,
  // Passkeys (issue 13): each staff member's WebAuthn credentials (public key, signature counter,
  // transports), and the ceremonies in progress: each challenge is issued by the server, kept
  // here until it expires, and taken (deleted) by the one response that answers it. A
  // registration challenge belongs to the person and sign-in that asked for it.
  `CREATE TABLE passkey_credentials (
     id TEXT PRIMARY KEY,
     person_id TEXT NOT NULL REFERENCES people(id),
     public_key BLOB NOT NULL,
     counter INTEGER NOT NULL CHECK (counter >= 0),
     transports TEXT NOT NULL,
     created_at TEXT NOT NULL,
     last_used_at TEXT
   );
   CREATE INDEX passkey_credentials_by_person ON passkey_credentials(person_id);
   CREATE TABLE passkey_challenges (
     challenge TEXT PRIMARY KEY,
     purpose TEXT NOT NULL CHECK (purpose IN ('register', 'authenticate')),
     person_id TEXT REFERENCES people(id),
     staff_session_id TEXT,
     expires_at TEXT NOT NULL,
     CHECK ((purpose = 'register') = (person_id IS NOT NULL))
   );
   CREATE INDEX passkey_challenges_expiry ON passkey_challenges(expires_at);`,
  // Equalities answers belong to an organisation (issue 13): one organisation's candidate
  // reference says nothing about another's. Existing answers go to the first organisation.
  `CREATE TABLE equalities_answers_new (
     organisation_id TEXT NOT NULL,
     candidate_ref TEXT NOT NULL,
     declined INTEGER NOT NULL CHECK (declined IN (0, 1)),
     age_band TEXT,
     sex TEXT,
     ethnicity TEXT,
     disability TEXT,
     first_language_english TEXT,
     answered_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, candidate_ref),
     CHECK ((declined = 1) = (age_band IS NULL AND sex IS NULL AND ethnicity IS NULL AND disability IS NULL AND first_language_english IS NULL)),
     CHECK (declined = 1 OR (age_band IS NOT NULL AND sex IS NOT NULL AND ethnicity IS NOT NULL AND disability IS NOT NULL AND first_language_english IS NOT NULL))
   );
   INSERT INTO equalities_answers_new
     SELECT COALESCE((SELECT id FROM organisations ORDER BY created_at, rowid LIMIT 1), ''), candidate_ref, declined, age_band, sex, ethnicity, disability, first_language_english, answered_at
     FROM equalities_answers;
   DROP TABLE equalities_answers;
   ALTER TABLE equalities_answers_new RENAME TO equalities_answers;
   CREATE TRIGGER equalities_answers_once BEFORE UPDATE ON equalities_answers
     BEGIN SELECT RAISE(ABORT, 'equalities answers are given once'); END;`,
  ORGANISATION_CONTENT_MIGRATION,
  // Changing a booking (issue 15): a cancelled session (when, why), a candidate marked as not
  // having come, a place whose person was swapped out (kept for the history, no longer in the
  // session), and each scenario a candidate was actually on stage in ("sat"). Days from before
  // this count every scenario phase they reached as sat by the session's candidate.
  `ALTER TABLE sessions ADD COLUMN cancelled_at TEXT;
   ALTER TABLE sessions ADD COLUMN cancel_reason TEXT;
   ALTER TABLE sessions ADD COLUMN no_show_at TEXT;
   ALTER TABLE participants ADD COLUMN replaced_at TEXT;
   CREATE TABLE scenario_attendance (
     session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
     number INTEGER NOT NULL,
     participant_id TEXT NOT NULL,
     on_stage_at TEXT NOT NULL,
     PRIMARY KEY (session_id, number, participant_id)
   );
   INSERT OR IGNORE INTO scenario_attendance (session_id, number, participant_id, on_stage_at)
     SELECT d.session_id, json_extract(ph.value, '$.scenario'), p.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     FROM assessment_days d, json_each(d.phases) ph
     JOIN participants p ON p.session_id = d.session_id AND p.role = 'candidate'
     WHERE json_extract(ph.value, '$.kind') = 'scenario' AND CAST(ph.key AS INTEGER) <= d.phase_index;`,
  // Recordings encrypted at rest (issue 15 item 8): the fingerprint of the master key the
  // recordings were encrypted with, so that starting with another key is refused.
  `CREATE TABLE recording_master_key (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     fingerprint TEXT NOT NULL,
     set_at INTEGER NOT NULL
   );`,
  // Programme email (issue 15): attachments on outbox rows (JSON: an invitation's .ics), each
  // organisation's own email templates, the calendar SEQUENCE of each session (bumped on every
  // change, so calendars replace the event), and the planned reminders (persisted: each is sent
  // once, survives a restart, and is cancelled or planned again when the booking changes).
  `ALTER TABLE mail_outbox ADD COLUMN attachments TEXT;
   CREATE TABLE mail_templates (
     organisation_id TEXT NOT NULL REFERENCES organisations(id),
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     body TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, kind)
   );
   CREATE TABLE mail_calendar (
     session_id TEXT PRIMARY KEY,
     sequence INTEGER NOT NULL CHECK (sequence >= 0)
   );
   CREATE TABLE mail_reminders (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL,
     participant_id TEXT NOT NULL,
     offset_ms INTEGER NOT NULL CHECK (offset_ms > 0),
     starts_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('planned', 'sent', 'cancelled', 'skipped')),
     mail_id INTEGER,
     decided_at TEXT
   );
   CREATE UNIQUE INDEX mail_reminders_planned ON mail_reminders(session_id, participant_id, offset_ms) WHERE status = 'planned';
   CREATE INDEX mail_reminders_due ON mail_reminders(due_at) WHERE status = 'planned';`,
  // Privacy and recording notices (issue 15): each organisation's versions of its two notices
  // (none stored: the shipped default, version 0), immutable once saved; and every participant's
  // answers, each row the versions they read and what they said (the newest one counts).
  `CREATE TABLE privacy_notices (
     organisation_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('privacy', 'recording')),
     version INTEGER NOT NULL CHECK (version >= 1),
     text TEXT NOT NULL,
     saved_at TEXT NOT NULL,
     saved_by_person_id TEXT,
     saved_by_name TEXT,
     PRIMARY KEY (organisation_id, kind, version)
   );
   CREATE TRIGGER privacy_notices_immutable BEFORE UPDATE ON privacy_notices
     BEGIN SELECT RAISE(ABORT, 'a notice version never changes: save a new one'); END;
   CREATE TABLE notice_answers (
     id INTEGER PRIMARY KEY,
     participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
     session_id TEXT NOT NULL,
     privacy_version INTEGER NOT NULL,
     recording_version INTEGER NOT NULL,
     decision TEXT NOT NULL CHECK (decision IN ('accepted', 'declined')),
     at INTEGER NOT NULL
   );
   CREATE INDEX notice_answers_by_participant ON notice_answers(participant_id, at);
   CREATE INDEX notice_answers_by_session ON notice_answers(session_id);`,
  DATA_PROTECTION_MIGRATION,
  // What happened to a booking, kept until the email it calls for is queued: a restart in
  // between tells people all the same (server/programme/booking-events.ts).
  `CREATE TABLE booking_events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     session_id TEXT NOT NULL,
     event TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     notified_at INTEGER
   );
   CREATE INDEX booking_events_unnotified ON booking_events(notified_at, id);`,
  // An Angoff judge is a person, not a name: two judges who share a name were one row set (the
  // second's save replaced the first's estimates). Rows made so far belong to the person behind
  // the record that saved them (a staff desk's record is the person itself); where one person
  // saved under two names, their newest estimates are kept.
  `CREATE TABLE angoff_estimates_by_judge (
     organisation_id TEXT NOT NULL DEFAULT '',
     template_id TEXT NOT NULL,
     judge_id TEXT NOT NULL,
     judge_name TEXT NOT NULL,
     item_id TEXT NOT NULL,
     estimate REAL NOT NULL,
     by_participant_id TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (organisation_id, template_id, judge_id, item_id)
   );
   INSERT INTO angoff_estimates_by_judge (organisation_id, template_id, judge_id, judge_name, item_id, estimate, by_participant_id, updated_at)
     SELECT organisation_id, template_id,
            COALESCE((SELECT p.person_id FROM participants p WHERE p.id = a.by_participant_id), a.by_participant_id),
            judge_name, item_id, estimate, by_participant_id, updated_at
     FROM angoff_estimates a WHERE true ORDER BY a.rowid
   ON CONFLICT (organisation_id, template_id, judge_id, item_id) DO UPDATE SET
     judge_name = excluded.judge_name, estimate = excluded.estimate, by_participant_id = excluded.by_participant_id, updated_at = excluded.updated_at
     WHERE excluded.updated_at >= angoff_estimates_by_judge.updated_at;
   DROP TABLE angoff_estimates;
   ALTER TABLE angoff_estimates_by_judge RENAME TO angoff_estimates;`,
  SESSION_LEASES_MIGRATION,
  CLUSTER_NODES_MIGRATION,
];

/** The schema version that makes scenarios and templates per organisation (tests migrate a
 *  database to just before it). */
export const ORGANISATION_CONTENT_VERSION = MIGRATIONS.indexOf(ORGANISATION_CONTENT_MIGRATION) + 1;

/** The schema version that chains the audit log and adds retention, holds and erasure. */
export const DATA_PROTECTION_VERSION = MIGRATIONS.indexOf(DATA_PROTECTION_MIGRATION) + 1;

/** The database file in a data directory. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'simstudio.db');
}

export function openDatabase(dataDir: string): DatabaseSync {
  ensurePrivateDir(dataDir);
  const file = databaseFile(dataDir);
  // 0600 before SQLite opens it; SQLite gives its -wal and -shm files the database file's mode.
  ensurePrivateFile(file);
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  // Ones left by an older version (or created before this file was private) are tightened.
  for (const suffix of ['-wal', '-shm']) tightenIfPresent(file + suffix);
  migrate(db);
  reuseStatements(db);
  return db;
}

/**
 * node:sqlite compiles the SQL on every prepare(), and hot paths prepare the same statements
 * again and again (each rubric edit asks for the session and its moderation state): keep the
 * compiled ones. Statements are never iterated lazily here, so one in use is never reused.
 */
function reuseStatements(db: DatabaseSync): void {
  const compiled = new Map<string, ReturnType<DatabaseSync['prepare']>>();
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    let statement = compiled.get(sql);
    if (!statement) {
      // SQL built from data (e.g. IN lists) must not grow the cache without end.
      if (compiled.size >= 500) compiled.clear();
      statement = prepare(sql);
      compiled.set(sql, statement);
    }
    return statement;
  };
}

/** Applies the migrations not yet applied, up to schema version `target` (all by default). */
export function migrate(db: DatabaseSync, target = MIGRATIONS.length): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  for (let version = row.user_version; version < target; version++) {
    transaction(db, () => {
      const migration = MIGRATIONS[version]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.exec(`PRAGMA user_version = ${version + 1}`);
    });
  }
}

export function databaseHealthy(db: Database): boolean {
  try {
    return (db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
  } catch {
    return false;
  }
}

/** Runs `fn` in one transaction: all of it is stored, or none of it. Inside an outer
 *  transaction it simply joins that one. */
export function transaction<T>(db: Database, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    // SQLite may already have rolled back (e.g. SQLITE_FULL); then there is nothing to undo,
    // and the original error is the one worth reporting.
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
