import { describe, expect, it } from 'vitest';
import { selectMembers, startOrder, withNamespaceMates } from './targets.js';

const members = [
  { name: 'envoy', node: 'front-envoy', namespace: 'front-envoy', owner: true },
  { name: 'web-sidecar-1', node: 'web', namespace: 'web-1', owner: true },
  { name: 'web-1', node: 'web', namespace: 'web-1', owner: false },
  { name: 'web-sidecar-2', node: 'web', namespace: 'web-2', owner: true },
  { name: 'web-2', node: 'web', namespace: 'web-2', owner: false },
];

describe('selectMembers', () => {
  it('selects by node id (every replica), namespace id or container name', () => {
    expect(selectMembers('lab', members, 'web').map((m) => m.name)).toEqual([
      'web-sidecar-1',
      'web-1',
      'web-sidecar-2',
      'web-2',
    ]);
    expect(selectMembers('lab', members, 'web-2').map((m) => m.name)).toEqual(['web-sidecar-2', 'web-2']);
    expect(selectMembers('lab', members, 'envoy').map((m) => m.name)).toEqual(['envoy']);
    expect(selectMembers('lab', members, undefined)).toHaveLength(5);
  });

  it('names the choices when the target is unknown', () => {
    expect(() => selectMembers('lab', members, 'nope')).toThrow(
      /lab 'lab' has no node, namespace or container named 'nope'\nuse one of: envoy, front-envoy, web,/,
    );
  });
});

describe('withNamespaceMates and startOrder', () => {
  it('takes the containers of an owner’s namespace along, but not an owner along with a joiner', () => {
    const sidecar = members.filter((m) => m.name === 'web-sidecar-1');
    expect(withNamespaceMates(members, sidecar).map((m) => m.name)).toEqual(['web-sidecar-1', 'web-1']);
    const app = members.filter((m) => m.name === 'web-1');
    expect(withNamespaceMates(members, app).map((m) => m.name)).toEqual(['web-1']);
  });

  it('starts owners before the containers joining them', () => {
    expect(startOrder(members).map((g) => g.map((m) => m.name))).toEqual([
      ['envoy', 'web-sidecar-1', 'web-sidecar-2'],
      ['web-1', 'web-2'],
    ]);
    expect(startOrder([members[2]!])).toEqual([[members[2]]]);
  });
});
