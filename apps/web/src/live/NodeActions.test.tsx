import { type Lab, parseLab } from '@meshcraft/topology';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import splitLab from '../../../../labs/traffic-split.lab.yaml?raw';
import { fakeApi } from '../test/api.js';
import { heldWeights, NodeActions, splitsOf } from './NodeActions.js';

const lab = parseLab(splitLab).lab as Lab;
const node = (id: string) => lab.spec.nodes.find((n) => n.id === id)!;
const KEY = 'routing.traffic_split.demoapp';

const pressed = (testId: string) =>
  screen.getByTestId(testId).querySelector('[aria-pressed="true"]')?.textContent;

describe('heldWeights', () => {
  const [split] = splitsOf(lab, 'front-envoy');
  it('reads the runtime keys a proxy holds, and the configured weight where it holds none', () => {
    expect(heldWeights(split!, {})).toEqual({ weights: [50, 50], fromRuntime: false });
    expect(heldWeights(split!, { [`${KEY}.demoapp-v10`]: '30', [`${KEY}.demoapp-v11`]: '70' })).toEqual({
      weights: [30, 70],
      fromRuntime: true,
    });
    expect(heldWeights(split!, { [`${KEY}.demoapp-v11`]: 'x', other: '1' })).toEqual({
      weights: [50, 50],
      fromRuntime: false,
    });
  });
});

describe('NodeActions', () => {
  it("shows each replica's livez and readyz as the apps answer them, also when changed elsewhere", async () => {
    const held = { livez: 'FAIL', readyz: 'OK' };
    const api = fakeApi({
      'actions.probes': () => [
        { container: 'demoapp-v1-0-1', namespace: 'demoapp-v1-0-1', ...held },
        { container: 'demoapp-v1-0-2', namespace: 'demoapp-v1-0-2', livez: 'OK', readyz: 'OK' },
      ],
      'actions.setProbe': (input) => {
        held.livez = (input as { value: string }).value;
        return { containers: ['demoapp-v1-0-1'] };
      },
    });
    render(<NodeActions lab={lab} labId="split" node={node('demoapp-v1-0')} />, { wrapper: api.wrapper });
    await waitFor(() => expect(pressed('probe-demoapp-v1-0-1-livez')).toBe('FAIL'));
    expect(pressed('probe-demoapp-v1-0-2-livez')).toBe('OK');

    fireEvent.click(screen.getByTestId('probe-demoapp-v1-0-1-livez').querySelector('button')!);
    expect(pressed('probe-demoapp-v1-0-1-livez')).toBe('OK');
    await waitFor(() =>
      expect(api.calls.filter((c) => c.path === 'actions.setProbe').map((c) => c.input)).toEqual([
        { labId: 'split', target: 'demoapp-v1-0-1', probe: 'livez', value: 'OK' },
      ]),
    );

    // Another tab (or the API) sets it back: the switch follows within a read-back.
    act(() => {
      held.livez = 'FAIL';
    });
    await waitFor(() => expect(pressed('probe-demoapp-v1-0-1-livez')).toBe('FAIL'), { timeout: 4000 });
  });

  it('starts the split slider from the runtime keys the proxy holds', async () => {
    const api = fakeApi({
      'actions.runtime': () => [
        { container: 'front-envoy', entries: { [`${KEY}.demoapp-v10`]: '30', [`${KEY}.demoapp-v11`]: '70' } },
      ],
    });
    render(<NodeActions lab={lab} labId="split" node={node('front-envoy')} />, { wrapper: api.wrapper });
    await waitFor(() =>
      expect((screen.getByTestId('slider-demoapp-v10') as HTMLInputElement).value).toBe('30'),
    );
    expect(screen.getByTestId('weight-demoapp-v11').textContent).toBe('70');
    expect(screen.getByTestId('split-source').getAttribute('data-source')).toBe('runtime');
  });

  it('starts it from the configured weights when the proxy holds no key', async () => {
    const api = fakeApi({ 'actions.runtime': () => [{ container: 'front-envoy', entries: {} }] });
    render(<NodeActions lab={lab} labId="split" node={node('front-envoy')} />, { wrapper: api.wrapper });
    await waitFor(() =>
      expect(screen.getByTestId('split-source').getAttribute('data-source')).toBe('config'),
    );
    expect((screen.getByTestId('slider-demoapp-v10') as HTMLInputElement).value).toBe('50');
  });
});
