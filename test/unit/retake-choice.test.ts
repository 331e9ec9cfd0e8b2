// When the moderation page offers a coordinator a retake, and how the studio reads the request.
import { describe, expect, it } from 'vitest';
import { retakeChoice } from '../../client/moderation/format.ts';
import { retakeFromSearch } from '../../client/studio/retake-link.ts';

const signed = (outcome: Record<string, 'pass' | 'fail'>, status: 'moderated' | 'awaiting' | 'underReview' = 'moderated') => ({
  status,
  signedOff: { byName: 'Helen Price', at: '2026-11-23T10:00:00Z', outcome },
});

describe('retake choice', () => {
  it('offers the one failed element when the other passed, a full retake when both failed, nothing otherwise', () => {
    expect(retakeChoice(signed({ observation: 'pass', written: 'fail' }))).toEqual({ kind: 'element', element: 'written' });
    expect(retakeChoice(signed({ observation: 'fail', written: 'pass' }))).toEqual({ kind: 'element', element: 'observation' });
    expect(retakeChoice(signed({ observation: 'fail', written: 'fail' }))).toEqual({ kind: 'full' });
    expect(retakeChoice(signed({ observation: 'pass', written: 'pass' }))).toBeNull();
    expect(retakeChoice(signed({ observation: 'fail', written: 'pass' }, 'underReview'))).toBeNull();
    expect(retakeChoice({ status: 'awaiting', signedOff: null })).toBeNull();
  });

  it('reads only a valid session id and element from the address', () => {
    const id = '0b6c2f8e-5d1a-4c3e-9f7a-2b4d6e8f0a1c';
    expect(retakeFromSearch(`?retakeOf=${id}&element=written`)).toEqual({ of: id, element: 'written' });
    expect(retakeFromSearch(`?retakeOf=${id}&element=knowledge`)).toBeNull();
    expect(retakeFromSearch('?retakeOf=../../etc&element=written')).toBeNull();
    expect(retakeFromSearch('')).toBeNull();
  });
});
