import { describe, expect, it } from 'vitest';
import { emptyLab } from '../editor/ops.js';
import { draftKeys, dropDraft, readDraft, writeDraft } from './drafts.js';

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
});
