import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { applied, needsUp, proxyStatus, rejected, status } from '../test/liveFixtures.js';
import { LiveConfigPanel } from './LiveConfigPanel.js';
import { LiveStatus } from './LiveStatus.js';
import { EMPTY_CONFIG, type LiveConfigState, withEdit, withStatus } from './liveConfig.js';

const running = withStatus(EMPTY_CONFIG, status([proxyStatus('front'), proxyStatus('side')]));
const stateAfter = (edit: Parameters<typeof withEdit>[1]): LiveConfigState => withEdit(running, edit);

describe('LiveStatus', () => {
  it('says the lab is in sync, and opens the details on a click', () => {
    const onOpen = vi.fn();
    render(<LiveStatus state={running} onOpen={onOpen} onUpAgain={() => {}} busy={false} />);
    const line = screen.getByTestId('live-status');
    expect(line.textContent).toBe('live: in sync');
    fireEvent.click(line);
    expect(onOpen).toHaveBeenCalledOnce();
    expect(screen.queryByTestId('up-again')).toBeNull();
  });

  it('offers Up again only when a save needs it', () => {
    const onUpAgain = vi.fn();
    const { rerender } = render(
      <LiveStatus state={stateAfter(needsUp)} onOpen={() => {}} onUpAgain={onUpAgain} busy={false} />,
    );
    expect(screen.getByTestId('live-status').getAttribute('data-tone')).toBe('warn');
    fireEvent.click(screen.getByTestId('up-again'));
    expect(onUpAgain).toHaveBeenCalledOnce();
    rerender(<LiveStatus state={stateAfter(needsUp)} onOpen={() => {}} onUpAgain={onUpAgain} busy />);
    expect((screen.getByTestId('up-again') as HTMLButtonElement).disabled).toBe(true);
    rerender(<LiveStatus state={stateAfter(applied)} onOpen={() => {}} onUpAgain={onUpAgain} busy={false} />);
    expect(screen.getByTestId('live-status').textContent).toBe('3 proxies updated in 84 ms');
    expect(screen.queryByTestId('up-again')).toBeNull();
  });
});

describe('LiveConfigPanel', () => {
  it('shows each proxy’s part of an applied save: what changed, the version and how long', () => {
    render(<LiveConfigPanel state={stateAfter(applied)} onUpAgain={() => {}} busy={false} />);
    const row = screen.getByTestId('live-proxy-front');
    expect(row.getAttribute('data-state')).toBe('applied');
    expect(row.textContent).toContain('route local_route changed');
    expect(row.textContent).toContain('applied v2 in 40 ms');
  });

  it('shows a rejection with the proxy’s message, and that the previous config keeps serving', () => {
    render(<LiveConfigPanel state={stateAfter(rejected)} onUpAgain={() => {}} busy={false} />);
    expect(screen.getByTestId('live-message').textContent).toContain('ca.crt not found');
    expect(screen.getByTestId('live-edit').textContent).toContain('keeps serving its previous configuration');
    expect(screen.getByTestId('live-proxy-front').getAttribute('data-state')).toBe('rejected');
    expect(screen.getByTestId('live-proxy-side').textContent).toContain('took it, then got v2 back');
  });

  it('lists every reason a save needs Up, says the edit is kept, and offers Up again', () => {
    const onUpAgain = vi.fn();
    render(<LiveConfigPanel state={stateAfter(needsUp)} onUpAgain={onUpAgain} busy={false} />);
    expect(
      [...screen.getByTestId('live-reasons').querySelectorAll('li')].map((li) => li.textContent),
    ).toEqual(needsUp.result === 'needsUp' ? needsUp.reasons.map((r) => r.message) : []);
    expect(screen.getByTestId('live-edit').textContent).toContain('kept in the editor');
    fireEvent.click(screen.getByTestId('up-again-panel'));
    expect(onUpAgain).toHaveBeenCalledOnce();
  });

  it('shows every proxy’s stream and whether it accepted what it is served', () => {
    const state = withStatus(
      EMPTY_CONFIG,
      status([proxyStatus('front', { inSync: false, connected: false })]),
    );
    render(<LiveConfigPanel state={state} onUpAgain={() => {}} busy={false} />);
    const row = screen.getByTestId('live-sync-front');
    expect(row.getAttribute('data-in-sync')).toBe('false');
    expect(row.textContent).toContain('not connected');
  });
});
