import { parseLab } from '@meshcraft/topology';
import { describe, expect, it } from 'vitest';
import splitText from '../../../../labs/traffic-split.lab.yaml?raw';
import { edgeLabels } from './labels.js';

describe('edgeLabels', () => {
  it('writes the route match on route edges and the weight apart, as a percentage when the total is 100', () => {
    const labels = edgeLabels(parseLab(splitText).lab!);
    expect(labels.get('split-v10')).toEqual({ text: '/', weight: '50%' });
    expect(labels.get('v10-members')).toBeUndefined();
  });
});
