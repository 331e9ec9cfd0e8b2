// y-websocket messages for the fuzzer: well-formed ones built with Yjs (map writes under any
// client ID, clock gaps, deletions, written-exercise XML, awareness) and mutations of them at
// the byte level (bit flips, truncation, varint overflow, huge lengths, wrong message types).
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import {
  MESSAGE_AUTH,
  MESSAGE_AWARENESS,
  MESSAGE_QUERY_AWARENESS,
  MESSAGE_SYNC,
  SYNC_STEP_1,
  SYNC_STEP_2,
  SYNC_UPDATE,
  WRITTEN_FRAGMENT,
} from '../../shared/collab.ts';
import { RUBRIC_MAPS } from '../../shared/rubric.ts';
import type { Rng } from './rng.ts';

export interface MessageContext {
  /** Marker written into every text this stream makes. */
  tag: string;
  /** Participant ids of the session (keys of sheets are prefixed with them). */
  participantIds: string[];
  /** What the sender knows of the document (for continuing clocks); may be empty. */
  knowledge: () => Y.Doc;
  /** Client IDs of honest writers, to forge under. */
  victimClientIds: () => number[];
  /** This stream's own client ID (a writer's usual one). */
  ownClientId: number;
  counter: { n: number };
}

const DOMAINS = ['kss-1', 'kss-2', 'kss-6', 'kss-7', 'kss-9', 'reflection', 'kss-11', '', 'x|y'];
const SCENARIOS = ['1', '2', '3', 'reflective', '4', '0', ''];

function wrap(type: number, step: number | null, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  if (step !== null) encoding.writeVarUint(e, step);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

const marker = (ctx: MessageContext): string => `fz${ctx.tag}${ctx.counter.n++}`;

function randomKey(rng: Rng, ctx: MessageContext): string {
  const who = rng.chance(0.85) ? rng.pick(ctx.participantIds) : rng.string(rng.int(0, 40));
  return rng.weighted<string>([
    [4, `${who}|${rng.pick(SCENARIOS)}|${rng.pick(DOMAINS)}`],
    [3, `${who}|${rng.pick(SCENARIOS)}`],
    [2, `${who}|n-${marker(ctx)}`],
    [2, `${rng.pick(SCENARIOS)}|${rng.pick(DOMAINS)}`],
    [1, `${rng.pick([...SCENARIOS, 'overall'])}|${rng.pick(['strengths', 'development', 'x'])}`],
    [1, rng.pick(['__proto__', 'constructor', 'prototype', '', '|', '||'])],
    [1, 'k'.repeat(rng.int(150, 400))],
  ]);
}

function randomValue(rng: Rng, ctx: MessageContext, scenario: string): unknown {
  const text = marker(ctx);
  const sc = scenario === 'reflective' ? 'reflective' : Number(scenario) || 1;
  return rng.weighted<() => unknown>([
    [3, () => rng.int(-2, 9)],
    [1, () => rng.float() * 4],
    [3, () => ({ scenario: sc, atMs: rng.int(0, 100_000), domainId: rng.chance(0.5) ? null : rng.pick(DOMAINS), text, createdAt: Date.now() })],
    [2, () => ({ rating: rng.int(0, 5), rationale: text })],
    [1, () => ({ rating: 3, rationale: text, extra: text })],
    [2, () => text],
    [1, () => `${text} ${'x'.repeat(rng.int(1000, 30_000))}`],
    // (An own "constructor" key cannot go through Yjs: its encoder refuses such a value.)
    [1, () => ({ __proto__: { polluted: text }, text })],
    [1, () => JSON.parse(`{"__proto__":{"polluted":"${text}"},"text":"${text}"}`) as unknown],
    [1, () => [text, { text }]],
    [1, () => null],
    [1, () => rng.bytes(rng.int(0, 64))],
    [1, () => new Y.Text(text)],
    [1, () => {
      const m = new Y.Map<unknown>();
      m.set('text', text);
      return m;
    }],
  ])();
}

/** A document holding what the sender knows, writing as `clientId`. */
function workingCopy(ctx: MessageContext, clientId: number): { doc: Y.Doc; before: Uint8Array } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(ctx.knowledge()));
  // After the known state: Yjs gives a document a new ID when a remote update carries its own.
  doc.clientID = clientId;
  return { doc, before: Y.encodeStateVector(doc) };
}

function pickClientId(rng: Rng, ctx: MessageContext): number {
  const victims = ctx.victimClientIds();
  return rng.weighted<number>([
    [3, ctx.ownClientId],
    [victims.length > 0 ? 4 : 0, victims.length > 0 ? rng.pick(victims) : 0],
    [1, rng.int(1, 2 ** 31)],
    [1, rng.pick([0, 2 ** 32 - 1, 2 ** 53 - 1])],
  ]);
}

/** Writes and deletes in the rubric's maps (or others), as some client ID, continuing its clock. */
function mapEdit(rng: Rng, ctx: MessageContext): Uint8Array {
  const { doc, before } = workingCopy(ctx, pickClientId(rng, ctx));
  const ops = rng.int(1, 4);
  for (let i = 0; i < ops; i++) {
    const mapName = rng.chance(0.9) ? rng.pick(RUBRIC_MAPS) : rng.pick(['content', 'evil', '__proto__', '']);
    const map = doc.getMap<unknown>(mapName);
    const existing = [...map.keys()];
    if (existing.length > 0 && rng.chance(0.25)) map.delete(rng.pick(existing));
    else {
      const key = randomKey(rng, ctx);
      map.set(key, randomValue(rng, ctx, key.split('|')[1] ?? '1'));
    }
  }
  return Y.encodeStateAsUpdate(doc, before);
}

/** A struct one clock ahead of what the server has of that client: Yjs would keep it pending. */
function clockGap(rng: Rng, ctx: MessageContext): Uint8Array {
  const { doc } = workingCopy(ctx, pickClientId(rng, ctx));
  const map = doc.getMap<unknown>(rng.pick(RUBRIC_MAPS));
  for (let i = rng.int(1, 3); i > 0; i--) map.set(randomKey(rng, ctx), randomValue(rng, ctx, '1'));
  const afterFiller = Y.encodeStateVector(doc);
  map.set(randomKey(rng, ctx), randomValue(rng, ctx, '1'));
  return Y.encodeStateAsUpdate(doc, afterFiller);
}

/** The written exercise's kind of content (and some it may not hold), as some client ID. */
function xmlEdit(rng: Rng, ctx: MessageContext): Uint8Array {
  const { doc, before } = workingCopy(ctx, pickClientId(rng, ctx));
  const root = rng.chance(0.85) ? WRITTEN_FRAGMENT : rng.pick(['other', 'ratings', '']);
  const fragment = doc.getXmlFragment(root);
  const text = marker(ctx);
  rng.weighted<() => void>([
    [4, () => {
      const p = new Y.XmlElement('paragraph');
      p.insert(0, [new Y.XmlText(text)]);
      fragment.insert(rng.int(0, fragment.length), [p]);
    }],
    [2, () => {
      const first = fragment.get(0);
      if (first instanceof Y.XmlElement) first.setAttribute(rng.pick(['class', 'x', text]), text.repeat(rng.int(1, 200)));
      else fragment.insert(0, [new Y.XmlText(text)]);
    }],
    [1, () => fragment.length > 0 && fragment.delete(0, rng.int(1, fragment.length))],
    [1, () => doc.getMap('content').set('x', text)],
    [1, () => doc.getText(`${root}-text`).insert(0, text)],
  ])();
  return Y.encodeStateAsUpdate(doc, before);
}

/** An update of deletions only, of ranges of any client (known or invented). */
function deletions(rng: Rng, ctx: MessageContext): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0); // no structs
  const clients = rng.int(1, 3);
  encoding.writeVarUint(e, clients);
  const known = Y.decodeStateVector(Y.encodeStateVector(ctx.knowledge()));
  for (let c = 0; c < clients; c++) {
    const victims = [...known.keys(), ...ctx.victimClientIds()];
    const client = victims.length > 0 && rng.chance(0.8) ? rng.pick(victims) : rng.int(0, 2 ** 31);
    const ranges = rng.int(1, 4);
    encoding.writeVarUint(e, client);
    encoding.writeVarUint(e, ranges);
    const limit = known.get(client) ?? 10;
    for (let r = 0; r < ranges; r++) {
      encoding.writeVarUint(e, rng.int(0, limit + 2));
      encoding.writeVarUint(e, rng.chance(0.9) ? rng.int(1, 5) : rng.pick([0, 2 ** 31, 2 ** 53 - 1]));
    }
  }
  return encoding.toUint8Array(e);
}

/** Awareness updates: own or others' client IDs, bad JSON, huge states, absurd counts. Presence
 *  is relayed to everyone who reads the document, so it carries an 'aw' marker, not 'fz'. */
function awareness(rng: Rng, ctx: MessageContext): Uint8Array {
  const presence = (): string => `aw${ctx.tag}${ctx.counter.n++}`;
  const e = encoding.createEncoder();
  const count = rng.weighted<number>([
    [6, 1],
    [2, rng.int(2, 10)],
    [1, rng.int(60, 70)],
    [1, 2 ** 31],
  ]);
  encoding.writeVarUint(e, count);
  const entries = Math.min(count, 70);
  for (let i = 0; i < entries; i++) {
    const victims = ctx.victimClientIds();
    encoding.writeVarUint(e, rng.chance(0.4) && victims.length > 0 ? rng.pick(victims) : rng.chance(0.5) ? ctx.ownClientId : rng.int(0, 2 ** 31));
    encoding.writeVarUint(e, rng.chance(0.8) ? ctx.counter.n++ + 1000 : rng.pick([0, 2 ** 32, 2 ** 53 - 1]));
    const state = rng.weighted<string>([
      [5, JSON.stringify({ user: { name: presence() } })],
      [1, 'null'],
      [1, `{"user":`],
      [1, JSON.stringify({ big: presence() + 'y'.repeat(rng.int(2000, 5000)) })],
      [1, `{"__proto__":{"polluted":"${presence()}"}}`],
    ]);
    encoding.writeVarString(e, state);
  }
  return encoding.toUint8Array(e);
}

/** One message, well-formed or not. `writerKind`: what the target document holds. */
export function collabMessage(rng: Rng, ctx: MessageContext, writerKind: 'map' | 'xml'): Uint8Array {
  const build = (): Uint8Array =>
    rng.weighted<() => Uint8Array>([
      [writerKind === 'map' ? 6 : 2, () => mapEdit(rng, ctx)],
      [writerKind === 'xml' ? 6 : 1, () => xmlEdit(rng, ctx)],
      [2, () => clockGap(rng, ctx)],
      [2, () => deletions(rng, ctx)],
      [1, () => rng.bytes(rng.size(300))],
    ])();
  const payload = (): Uint8Array => {
    try {
      return build();
    } catch {
      return rng.bytes(rng.size(300)); // Yjs refused to build it locally: send noise instead
    }
  };
  const message = rng.weighted<() => Uint8Array>([
    [8, () => wrap(MESSAGE_SYNC, SYNC_UPDATE, payload())],
    [3, () => wrap(MESSAGE_SYNC, SYNC_STEP_2, payload())],
    [1, () => wrap(MESSAGE_SYNC, SYNC_STEP_1, rng.chance(0.5) ? Y.encodeStateVector(ctx.knowledge()) : rng.bytes(rng.size(64)))],
    [3, () => wrap(MESSAGE_AWARENESS, null, awareness(rng, ctx))],
    [1, () => Uint8Array.of(MESSAGE_QUERY_AWARENESS)],
    [1, () => wrap(MESSAGE_AUTH, null, rng.bytes(rng.size(32)))],
    [1, () => rng.bytes(rng.size(200))],
  ])();
  return rng.chance(0.35) ? mutate(rng, message) : message;
}

/** Byte-level damage to a message. */
export function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  let bytes: Uint8Array = new Uint8Array(input);
  const rounds = rng.int(1, 3);
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : rng.int(0, bytes.length - 1);
    bytes = rng.weighted<() => Uint8Array>([
      [4, () => {
        const out = new Uint8Array(bytes);
        if (out.length > 0) out[at] = out[at]! ^ (1 << rng.int(0, 7));
        return out;
      }],
      [3, () => bytes.slice(0, at)],
      [2, () => concat(bytes.slice(0, at), rng.bytes(rng.int(1, 16)), bytes.slice(at))],
      [2, () => concat(bytes.slice(0, at), bytes.slice(Math.min(bytes.length, at + rng.int(1, 16))))],
      // A varint that never ends, or overflows 53 bits.
      [2, () => concat(bytes.slice(0, at), new Uint8Array(rng.int(5, 12)).fill(0xff), bytes.slice(at))],
      // A length prefix far beyond the message (after the type and step bytes).
      [2, () => concat(bytes.slice(0, 2), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), bytes.slice(3))],
      [1, () => concat(Uint8Array.of(rng.pick([4, 5, 127, 128, 255])), bytes.slice(1))],
      [1, () => concat(bytes.slice(0, 1), Uint8Array.of(rng.pick([3, 4, 127, 255])), bytes.slice(2))],
      [1, () => new Uint8Array(0)],
    ])();
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
