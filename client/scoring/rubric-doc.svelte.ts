// One observer's view of the session's rubric (layout in shared/rubric.ts): my own scoring
// sheets (one document per scenario, which only I write), the lead observer's document
// (agreed ratings and feedback; presence), and my co-observers' sheets, which the server
// sends only once they are submitted. Each is a SyncedDoc (y-websocket + IndexedDB for what
// I write); this class merges their sections into one reactive picture and routes every
// write to the one document that may hold it.
//
// Every write is validated first, with the server's own rules, and only ever touches keys
// built from the shared key helpers with my participant id: a refused edit would stay in my
// local copy and be refused again on every reconnect.
import * as awarenessProtocol from 'y-protocols/awareness';
import type * as Y from 'yjs';
import { collabDocName, sheetDocName, SHEET_SCENARIOS, type SheetScenario } from '../../shared/collab.ts';
import type { Role } from '../../shared/roles.ts';
import {
  RUBRIC_LIMITS,
  agreedKey,
  feedbackKey,
  globalKey,
  noteKey,
  ratingKey,
  submittedKey,
  type AgreedRating,
  type EvidenceNote,
  type ScenarioKey,
} from '../../shared/rubric.ts';
import { AgreedRatingSchema, EvidenceNoteSchema } from '../../shared/rubric-schemas.ts';
import { colorFor, isScenarioKey } from './sheet.ts';
import { isIntIn, SyncedDoc, type ConnectionStatus, type Refusal, type SaveStatus, type SyncedDocOptions } from './synced-doc.svelte.ts';

export type { ConnectionStatus, Refusal, SaveStatus };

export interface ScoringMe {
  participantId: string;
  role: Role;
  displayName: string;
}

export type FeedbackScope = ScenarioKey | 'overall';
export type FeedbackPart = 'strengths' | 'development';

export interface PresentUser {
  clientId: number;
  participantId: string | null;
  name: string;
  role: string;
  color: string;
  isMe: boolean;
}

export interface NoteEntry extends EvidenceNote {
  id: string;
  participantId: string;
}

export type RubricDocOptions = SyncedDocOptions;

const SHEET_SECTIONS = ['ratings', 'global', 'submitted', 'notes'] as const;

export class RubricDoc {
  readonly sessionId: string;
  readonly me: ScoringMe;
  readonly level: 'practitioner' | 'supervisor';
  readonly awareness: awarenessProtocol.Awareness;
  /** The lead observer's document: agreed ratings, feedback, and everyone's presence. */
  readonly lead: SyncedDoc;
  /** My own sheets (none for a reader). */
  readonly #own = new Map<SheetScenario, SyncedDoc>();
  /** Co-observers' sheets, by document name: sent by the server once submitted. */
  readonly #theirs = new Map<string, SyncedDoc>();
  readonly #options: RubricDocOptions;

  #ratings = $state.raw<Record<string, number>>({});
  #global = $state.raw<Record<string, number>>({});
  #submitted = $state.raw<Record<string, number>>({});
  #notes = $state.raw<Record<string, EvidenceNote>>({});
  #agreed = $state.raw<Record<string, AgreedRating>>({});
  #feedback = $state.raw<Record<string, string>>({});
  #present = $state.raw<PresentUser[]>([]);
  /** Display names seen in awareness, kept after people leave. */
  #names = $state.raw<Record<string, string>>({});
  #destroyed = false;

  constructor(sessionId: string, me: ScoringMe, level: 'practitioner' | 'supervisor', options: RubricDocOptions = {}) {
    this.sessionId = sessionId;
    this.me = { participantId: me.participantId, role: me.role, displayName: me.displayName };
    this.level = level;
    this.#options = options;
    const local = `${sessionId}-${me.participantId}`;

    let presence: awarenessProtocol.Awareness | null = null;
    this.lead = new SyncedDoc(
      collabDocName(sessionId, 'rubric'),
      me.participantId,
      this.isLead ? `simstudio-lead-${local}` : null,
      (doc) => {
        presence = new awarenessProtocol.Awareness(doc);
        presence.setLocalState({ name: me.displayName, role: me.role, color: colorFor(me.participantId), participantId: me.participantId });
        return presence;
      },
      options,
    );
    this.awareness = presence!;
    this.awareness.on('change', () => this.#refreshPresence());
    for (const name of ['agreed', 'feedback'] as const) {
      const map = this.lead.doc.getMap(name);
      map.observe(() => this.#refreshLead());
    }
    if (this.canScore) {
      for (const scenario of SHEET_SCENARIOS) {
        const sheet = new SyncedDoc(sheetDocName(sessionId, me.participantId, scenario), me.participantId, `simstudio-sheet-${local}-${scenario}`, null, options);
        this.#own.set(scenario, sheet);
        this.#watchSheet(sheet.doc);
      }
    }
    this.#refreshPresence();
  }

  /**
   * The other observers of the session (e.g. from the people list): their sheets are followed,
   * and appear here once each is submitted. Ids already followed are kept.
   */
  follow(observerIds: readonly string[]): void {
    if (this.#destroyed) return;
    for (const id of observerIds) {
      if (id === this.me.participantId || !/^[0-9a-f-]{36}$/.test(id)) continue;
      for (const scenario of SHEET_SCENARIOS) {
        const name = sheetDocName(this.sessionId, id, scenario);
        if (this.#theirs.has(name)) continue;
        const sheet = new SyncedDoc(name, this.me.participantId, null, null, this.#options);
        this.#theirs.set(name, sheet);
        this.#watchSheet(sheet.doc);
      }
    }
  }

  // ---- reactive state ----

  /** The documents I write: my sheets, and the lead document if I am the lead. */
  #mine(): SyncedDoc[] {
    return this.isLead ? [...this.#own.values(), this.lead] : [this.lead, ...this.#own.values()];
  }

  get connection(): ConnectionStatus {
    const states = this.#mine().map((d) => d.connection);
    if (states.every((c) => c === 'connected')) return 'connected';
    return states.includes('offline') ? 'offline' : 'connecting';
  }
  /** Whether everything in my local copies has been acknowledged by the server. */
  get saveStatus(): SaveStatus {
    return this.#mine().some((d) => d.saveStatus === 'pending') ? 'pending' : 'saved';
  }
  /** Set when the server ended a connection of mine for good (bad update, signed out, …). */
  get refused(): Refusal | null {
    for (const d of this.#mine()) if (d.refused) return d.refused;
    return null;
  }
  /** The local (IndexedDB) copies have been loaded. */
  get restored(): boolean {
    return this.#mine().every((d) => d.restored);
  }
  /** Everyone connected to this rubric now, me included (isMe). */
  get present(): PresentUser[] {
    return this.#present;
  }
  get canScore(): boolean {
    return this.me.role === 'observer' || this.me.role === 'leadObserver';
  }
  get isLead(): boolean {
    return this.me.role === 'leadObserver';
  }
  /** Raw snapshots of the sections (plain objects, keys as in shared/rubric.ts). */
  get ratings(): Readonly<Record<string, number>> {
    return this.#ratings;
  }
  get globals(): Readonly<Record<string, number>> {
    return this.#global;
  }
  get submittedFlags(): Readonly<Record<string, number>> {
    return this.#submitted;
  }
  get notes(): Readonly<Record<string, EvidenceNote>> {
    return this.#notes;
  }
  get agreed(): Readonly<Record<string, AgreedRating>> {
    return this.#agreed;
  }
  get feedback(): Readonly<Record<string, string>> {
    return this.#feedback;
  }

  // ---- queries (reactive when read in a template or $derived) ----

  ratingOf(participantId: string, scenario: ScenarioKey, domainId: string): number | null {
    return this.#ratings[ratingKey(participantId, scenario, domainId)] ?? null;
  }
  myRating(scenario: ScenarioKey, domainId: string): number | null {
    return this.ratingOf(this.me.participantId, scenario, domainId);
  }
  globalOf(participantId: string, scenario: ScenarioKey): number | null {
    return this.#global[globalKey(participantId, scenario)] ?? null;
  }
  /** When the observer submitted this scenario (epoch ms), or null. */
  submittedAt(participantId: string, scenario: ScenarioKey): number | null {
    return this.#submitted[submittedKey(participantId, scenario)] ?? null;
  }
  isSubmitted(scenario: ScenarioKey, participantId = this.me.participantId): boolean {
    return this.submittedAt(participantId, scenario) !== null;
  }
  /** Participant ids with any rating, global judgement or submission for this scenario. */
  observersOf(scenario: ScenarioKey): string[] {
    const ids = new Set<string>();
    const s = String(scenario);
    for (const key of Object.keys(this.#ratings)) {
      const [pid, sc] = key.split('|');
      if (pid && sc === s) ids.add(pid);
    }
    for (const map of [this.#global, this.#submitted]) {
      for (const key of Object.keys(map)) {
        const [pid, sc] = key.split('|');
        if (pid && sc === s) ids.add(pid);
      }
    }
    return [...ids];
  }
  /** One observer's evidence notes, newest first (optionally for one scenario). */
  notesOf(participantId: string, scenario?: ScenarioKey): NoteEntry[] {
    const prefix = `${participantId}|`;
    const out: NoteEntry[] = [];
    for (const [key, note] of Object.entries(this.#notes)) {
      if (!key.startsWith(prefix)) continue;
      if (scenario !== undefined && note.scenario !== scenario) continue;
      out.push({ ...note, id: key.slice(prefix.length), participantId });
    }
    return out.sort((a, b) => b.createdAt - a.createdAt || b.atMs - a.atMs);
  }
  myNotes(scenario?: ScenarioKey): NoteEntry[] {
    return this.notesOf(this.me.participantId, scenario);
  }
  agreedFor(scenario: ScenarioKey, domainId: string): AgreedRating | null {
    return this.#agreed[agreedKey(scenario, domainId)] ?? null;
  }
  feedbackFor(scope: FeedbackScope, part: FeedbackPart): string {
    return this.#feedback[feedbackKey(scope, part)] ?? '';
  }
  /** A display name for a participant seen in awareness (null if never seen). */
  nameOf(participantId: string): string | null {
    return this.#names[participantId] ?? null;
  }

  // ---- writes: each returns whether it was written ----

  /** My rating of a domain, 1–4. Refused once I have submitted the scenario (independence). */
  rate(scenario: ScenarioKey, domainId: string, value: number): boolean {
    const sheet = this.#writableSheet(scenario);
    if (!sheet || !validDomainId(domainId) || !isIntIn(value, 1, 4)) return false;
    sheet.getMap('ratings').set(ratingKey(this.me.participantId, scenario, domainId), value);
    return true;
  }

  /** My global judgement, 1–7. */
  setGlobal(scenario: ScenarioKey, value: number): boolean {
    const sheet = this.#writableSheet(scenario);
    if (!sheet || !isIntIn(value, 1, 7)) return false;
    sheet.getMap('global').set(globalKey(this.me.participantId, scenario), value);
    return true;
  }

  /** Submits my scoring of this scenario: from then on the sheet is final (the server refuses changes). */
  submit(scenario: ScenarioKey): boolean {
    const sheet = this.#writableSheet(scenario);
    if (!sheet) return false;
    sheet.getMap('submitted').set(submittedKey(this.me.participantId, scenario), Math.max(1, Math.round(Date.now())));
    return true;
  }

  /** Adds an evidence note; returns its id, or null if it was not valid (e.g. empty, or submitted). */
  addNote(scenario: ScenarioKey, atMs: number, domainId: string | null, text: string): string | null {
    const sheet = this.#writableSheet(scenario);
    if (!sheet) return null;
    const parsed = EvidenceNoteSchema.safeParse({
      scenario,
      atMs: Math.max(0, Math.round(atMs)),
      domainId,
      text: text.trim(),
      createdAt: Math.round(Date.now()),
    });
    if (!parsed.success) return null;
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    sheet.getMap('notes').set(noteKey(this.me.participantId, id), parsed.data);
    return id;
  }

  /** Corrects the text of one of my notes (its time and domain stay): until I submit. */
  editNote(scenario: ScenarioKey, id: string, text: string): boolean {
    const sheet = this.#writableSheet(scenario);
    const key = noteKey(this.me.participantId, id);
    const note = sheet?.getMap('notes').get(key);
    if (!sheet || note === undefined) return false;
    const parsed = EvidenceNoteSchema.safeParse({ ...(note as EvidenceNote), text: text.trim() });
    if (!parsed.success) return false;
    sheet.getMap('notes').set(key, parsed.data);
    return true;
  }

  /** Removes one of my notes: until I submit (then notes are evidence and stay). */
  deleteNote(scenario: ScenarioKey, id: string): boolean {
    const sheet = this.#writableSheet(scenario);
    const key = noteKey(this.me.participantId, id);
    if (!sheet || !sheet.getMap('notes').has(key)) return false;
    sheet.getMap('notes').delete(key);
    return true;
  }

  /** Lead observer: the agreed rating of a domain, with its rationale. */
  setAgreed(scenario: ScenarioKey, domainId: string, rating: number, rationale: string): boolean {
    if (this.#destroyed || !this.isLead || !isScenarioKey(scenario) || !validDomainId(domainId)) return false;
    const parsed = AgreedRatingSchema.safeParse({ rating, rationale });
    if (!parsed.success) return false;
    this.lead.doc.getMap('agreed').set(agreedKey(scenario, domainId), parsed.data);
    return true;
  }

  /** Lead observer: narrative feedback for a scenario or overall. */
  setFeedback(scope: FeedbackScope, part: FeedbackPart, text: string): boolean {
    if (this.#destroyed || !this.isLead) return false;
    if (scope !== 'overall' && !isScenarioKey(scope)) return false;
    if (part !== 'strengths' && part !== 'development') return false;
    if (typeof text !== 'string' || text.length > MAX_FEEDBACK_CHARS) return false;
    if (this.feedbackFor(scope, part) === text) return true;
    this.lead.doc.getMap('feedback').set(feedbackKey(scope, part), text);
    return true;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.awareness.destroy();
    for (const d of [this.lead, ...this.#own.values(), ...this.#theirs.values()]) d.destroy();
  }

  // ---- internals ----

  /** My sheet for this scenario, if I may still write it. */
  #writableSheet(scenario: ScenarioKey): Y.Doc | null {
    if (this.#destroyed || !this.canScore || !isScenarioKey(scenario) || this.isSubmitted(scenario)) return null;
    return this.#own.get(scenario as SheetScenario)?.doc ?? null;
  }

  #watchSheet(doc: Y.Doc): void {
    for (const name of SHEET_SECTIONS) doc.getMap(name).observe(() => this.#refreshSheets());
  }

  /** Merges every sheet's sections (keys carry observer and scenario, so they never clash). */
  #refreshSheets(): void {
    if (this.#destroyed) return;
    const merged: Record<(typeof SHEET_SECTIONS)[number], Record<string, never>> = { ratings: {}, global: {}, submitted: {}, notes: {} };
    for (const sheet of [...this.#own.values(), ...this.#theirs.values()]) {
      if (sheet.destroyed) continue;
      for (const name of SHEET_SECTIONS) Object.assign(merged[name], sheet.doc.getMap(name).toJSON());
    }
    this.#ratings = merged.ratings;
    this.#global = merged.global;
    this.#submitted = merged.submitted;
    this.#notes = merged.notes;
  }

  #refreshLead(): void {
    if (this.#destroyed) return;
    this.#agreed = this.lead.doc.getMap('agreed').toJSON() as Record<string, AgreedRating>;
    this.#feedback = this.lead.doc.getMap('feedback').toJSON() as Record<string, string>;
  }

  #refreshPresence(): void {
    if (this.#destroyed) return;
    const list: PresentUser[] = [];
    const names = { ...this.#names };
    let namesChanged = false;
    for (const [clientId, state] of this.awareness.getStates()) {
      const s = state as { name?: unknown; role?: unknown; color?: unknown; participantId?: unknown };
      const participantId = typeof s.participantId === 'string' ? s.participantId : null;
      const name = typeof s.name === 'string' ? s.name.slice(0, 100) : 'Someone';
      if (participantId && names[participantId] !== name) {
        names[participantId] = name;
        namesChanged = true;
      }
      list.push({
        clientId,
        participantId,
        name,
        role: typeof s.role === 'string' ? s.role : '',
        color: typeof s.color === 'string' && /^#[0-9a-f]{6}$/i.test(s.color) ? s.color : '#4a5360',
        isMe: clientId === this.lead.doc.clientID,
      });
    }
    if (namesChanged) this.#names = names;
    this.#present = list;
  }
}

/** The server's limit for a feedback text (server/collab/rubric-guard.ts). */
export const MAX_FEEDBACK_CHARS = RUBRIC_LIMITS.maxFeedbackChars;
/** EvidenceNoteSchema and AgreedRatingSchema limits, for input maxlength. */
export const MAX_NOTE_CHARS = 4000;
export const MAX_RATIONALE_CHARS = 4000;

/** Domain ids end up inside keys split on "|" and in notes (max 40 chars). */
function validDomainId(domainId: string): boolean {
  return typeof domainId === 'string' && domainId.length > 0 && domainId.length <= 40 && !domainId.includes('|');
}

