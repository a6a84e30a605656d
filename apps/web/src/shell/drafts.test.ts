import { describe, expect, it } from 'vitest';
import { emptyLab } from '../editor/ops.js';
import { draftKeys, dropDraft, moveDraft, readDraft, writeDraft } from './drafts.js';

describe('drafts', () => {
  it('keeps a lab per name and source until dropped, and lists them', () => {
    localStorage.clear();
    const k = { name: 'my-lab', source: 'workspace' as const };
    expect(readDraft(k)).toBeUndefined();
    expect(writeDraft(k, { lab: emptyLab('my-lab'), baseRevision: 'abc', savedAt: 1 })).toBe(true);
    expect(readDraft(k)).toMatchObject({ baseRevision: 'abc', lab: { metadata: { name: 'my-lab' } } });
    writeDraft({ name: 'lib', source: 'library' }, { lab: emptyLab('lib'), savedAt: 2 });
    expect(draftKeys().sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'lib', source: 'library' },
      { name: 'my-lab', source: 'workspace' },
    ]);
    dropDraft(k);
    expect(readDraft(k)).toBeUndefined();
  });

  it('ignores what is not a draft', () => {
    localStorage.clear();
    localStorage.setItem('meshcraft:draft:workspace:junk', '{not json');
    localStorage.setItem('unrelated', 'x');
    expect(readDraft({ name: 'junk', source: 'workspace' })).toBeUndefined();
    expect(draftKeys()).toEqual([{ name: 'junk', source: 'workspace' }]);
  });

  it('moves a draft to a renamed lab, carrying the new name and revision', () => {
    localStorage.clear();
    const from = { name: 'old', source: 'workspace' as const };
    const to = { name: 'new', source: 'workspace' as const };
    const lab = { ...emptyLab('old'), metadata: { name: 'old', title: 'Kept title' } };
    writeDraft(from, { lab, baseRevision: 'r1', savedAt: 5 });
    moveDraft(from, to, 'r2');
    expect(readDraft(from)).toBeUndefined();
    expect(readDraft(to)).toEqual({
      lab: { ...lab, metadata: { name: 'new', title: 'Kept title' } },
      baseRevision: 'r2',
      savedAt: 5,
    });
    expect(draftKeys()).toEqual([to]);
  });
});
