import { describe, expect, it } from 'vitest';
import { defaultStage, mayConsume, mayKnowAbout, mayPublish, type StageMember } from '../../shared/roles.ts';

const candidate: StageMember = { id: 'c', role: 'candidate' };
const actor1: StageMember = { id: 'a1', role: 'actor' };
const actor2: StageMember = { id: 'a2', role: 'actor' };
const lead: StageMember = { id: 'l', role: 'leadObserver' };
const observer: StageMember = { id: 'o', role: 'observer' };
const everyone = [candidate, actor1, actor2, lead, observer];

describe('media rules', () => {
  it('by default candidate and actors are on stage and observers hidden', () => {
    const stage = defaultStage(everyone);
    expect([...stage].sort()).toEqual(['a1', 'a2', 'c']);
    expect(mayPublish(lead, stage)).toBe(false);
    expect(mayConsume(candidate, actor1, stage)).toBe(true);
    expect(mayConsume(observer, candidate, stage)).toBe(true);
    expect(mayConsume(candidate, lead, stage)).toBe(false);
    expect(mayConsume(candidate, candidate, stage)).toBe(false);
    expect(mayKnowAbout(candidate, observer, stage)).toBe(false);
    expect(mayKnowAbout(actor1, lead, stage)).toBe(false);
    expect(mayKnowAbout(lead, observer, stage)).toBe(true);
  });

  it('an off-stage actor sends to the server but nobody receives them, and they receive and learn nothing', () => {
    const scenario1 = new Set(['c', 'a1']);
    expect(mayPublish(actor2, scenario1)).toBe(true);
    expect(mayConsume(actor2, candidate, scenario1)).toBe(false);
    expect(mayConsume(candidate, actor2, scenario1)).toBe(false);
    expect(mayKnowAbout(candidate, actor2, scenario1)).toBe(false);
  });

  it('the reflective conversation puts the lead observer on stage, other observers stay hidden', () => {
    const reflective = new Set(['c', 'l']);
    expect(mayPublish(lead, reflective)).toBe(true);
    expect(mayConsume(candidate, lead, reflective)).toBe(true);
    expect(mayConsume(observer, lead, reflective)).toBe(true);
    expect(mayConsume(actor1, lead, reflective)).toBe(false);
    expect(mayKnowAbout(candidate, lead, reflective)).toBe(true);
    expect(mayKnowAbout(candidate, observer, reflective)).toBe(false);
  });

  it('a briefing has nobody on stage: the candidate may send, nobody receives', () => {
    const briefing = new Set<string>();
    expect(mayPublish(candidate, briefing)).toBe(true);
    expect(mayPublish(lead, briefing)).toBe(false);
    expect(mayConsume(observer, candidate, briefing)).toBe(false);
    expect(mayConsume(candidate, actor1, briefing)).toBe(false);
  });

  it('an analyst is in no room: receives nothing, sends nothing, knows of nobody and nobody of them', () => {
    const analyst: StageMember = { id: 'an', role: 'analyst' };
    const stage = defaultStage([...everyone, analyst]);
    expect(stage.has('an')).toBe(false);
    expect(mayPublish(analyst, stage)).toBe(false);
    for (const other of everyone) {
      expect(mayConsume(analyst, other, stage)).toBe(false);
      expect(mayKnowAbout(analyst, other, stage)).toBe(false);
      expect(mayKnowAbout(other, analyst, stage)).toBe(false);
    }
    // Even put on stage by mistake, nobody learns of them and they receive nothing.
    const onStage = new Set([...stage, 'an']);
    expect(mayConsume(analyst, candidate, onStage)).toBe(false);
    expect(mayConsume(candidate, analyst, onStage)).toBe(false);
    expect(mayKnowAbout(lead, analyst, onStage)).toBe(false);
  });
});
