// The app against the in-memory client, in jsdom: what a user sees and does on each view.
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../../renderer/src/app/App';
import { FakeDeskClient } from '../../../renderer/client/fake-client';
import { fakeDesk, fakeHistory } from '../../../renderer/client/fake-desk';
import { StepTimeline } from '../../../renderer/src/features/history/StepTimeline';

afterEach(cleanup);

function gpuCard(name: string): HTMLElement {
  return screen.getByRole('article', { name });
}

describe('Desk view', () => {
  it('shows every GPU with its owner and monitors, and the desk picture coloured by owner', async () => {
    const client = new FakeDeskClient(fakeDesk({ owners: ['win11', 'host'] }));
    render(<App client={client} />);
    const a = await screen.findByRole('article', { name: 'gpu-a' });
    expect(within(a).getByTestId('owner').textContent).toBe('Owner: win11');
    expect(within(a).getByText('Left')).toBeTruthy();
    expect(within(a).getByText(/last seen/)).toBeTruthy(); // its GPU is away: the monitor is remembered
    expect(within(gpuCard('gpu-b')).getByTestId('owner').textContent).toBe('Owner: Host');
    const picture = screen.getByTestId('desk-picture');
    expect(picture.getAttribute('aria-label')).toContain('Left on gpu-a shows win11');
    expect(picture.querySelector('[data-connector="card1-DP-1"]')!.getAttribute('data-shows')).toBe('win11');
    expect(picture.querySelector('[data-connector="card2-DP-1"] rect')!.getAttribute('style')).toContain('var(--owner-host)');
  });

  it('a click moves the GPU: steps show while it runs, then the owner, the picture and the outcome change', async () => {
    const client = new FakeDeskClient(fakeDesk(), { stepMs: 5 });
    render(<App client={client} />);
    const card = await screen.findByRole('article', { name: 'gpu-a' });
    const button = within(card).getByRole('button', { name: 'Move gpu-a to win11' });
    fireEvent.click(button);
    await waitFor(() => expect(within(card).getByTestId('progress')).toBeTruthy());
    await waitFor(() => expect(within(card).getByTestId('progress').querySelector('[data-step="reset"]')).toBeTruthy());
    await waitFor(() => expect(within(card).getByTestId('last-outcome').dataset.outcome).toBe('succeeded'));
    expect(within(card).getByTestId('owner').textContent).toBe('Owner: win11');
    expect(screen.getByTestId('desk-picture').querySelector('[data-connector="card1-DP-1"]')!.getAttribute('data-shows')).toBe('win11');
    expect(within(card).getByRole('button', { name: 'gpu-a is with win11' })).toHaveProperty('disabled', true);
    expect(client.calls.filter((c) => c.method === 'switchGpu')).toEqual([{ method: 'switchGpu', args: ['gpu-a', 'win11'] }]);
  });

  it('a failed switch shows the failing step, the reason, what was rolled back and where the GPU is', async () => {
    const client = new FakeDeskClient(fakeDesk());
    client.failNextSwitch({ step: 'attach', reason: 'win11 did not accept the device within 10 s' });
    render(<App client={client} />);
    const card = await screen.findByRole('article', { name: 'gpu-a' });
    fireEvent.click(within(card).getByRole('button', { name: 'Move gpu-a to win11' }));
    const failure = await within(card).findByRole('alert');
    expect(failure.dataset.outcome).toBe('rolled-back');
    expect(within(failure).getByTestId('failed-step').textContent).toBe('attach');
    expect(within(failure).getByTestId('failure-reason').textContent).toBe('win11 did not accept the device within 10 s');
    expect(within(failure).getByTestId('rolled-back').textContent).toBe('undo reset, undo claim');
    expect(within(failure).getByTestId('final-owner').textContent).toBe('Host');
    expect(within(card).getByTestId('owner').textContent).toBe('Owner: Host');
  });

  it('a refused request says why, and can be dismissed', async () => {
    const client = new FakeDeskClient(fakeDesk());
    client.refuseNextSwitch('win11 is shut off and its acquire method is hot-plug', -32005);
    render(<App client={client} />);
    const card = await screen.findByRole('article', { name: 'gpu-a' });
    fireEvent.click(within(card).getByRole('button', { name: 'Move gpu-a to win11' }));
    const alert = await within(card).findByRole('alert');
    expect(alert.textContent).toContain('The switch to win11 was refused: win11 is shut off and its acquire method is hot-plug');
    expect(within(card).getByTestId('owner').textContent).toBe('Owner: Host');
    fireEvent.click(within(alert).getByRole('button', { name: 'Dismiss' }));
    expect(within(card).queryByRole('alert')).toBeNull();
  });

  it('a switch started elsewhere (the CLI) shows up live', async () => {
    const client = new FakeDeskClient(fakeDesk(), { stepMs: 5 });
    render(<App client={client} />);
    const card = await screen.findByRole('article', { name: 'gpu-b' });
    const done = client.externalSwitch('gpu-b', 'vm-xen', 'cli');
    await waitFor(() => expect(within(card).getByText(/asked by cli/)).toBeTruthy());
    await act(async () => { await done; });
    expect(within(card).getByTestId('owner').textContent).toBe('Owner: vm-xen');
  });

  it('ignores a snapshot older than the one on screen', async () => {
    const client = new FakeDeskClient(fakeDesk());
    render(<App client={client} />);
    await screen.findByRole('article', { name: 'gpu-a' });
    const stale = structuredClone(client.current());
    client.update((d) => { d.gpus[0]!.owner = 'linux-dev'; });
    await waitFor(() => expect(within(gpuCard('gpu-a')).getByTestId('owner').textContent).toBe('Owner: linux-dev'));
    act(() => client.emit({ kind: 'desk-changed', snapshot: { ...stale, revision: 0 } }));
    expect(within(gpuCard('gpu-a')).getByTestId('owner').textContent).toBe('Owner: linux-dev');
  });
});

describe('connection states', () => {
  it('says the helper is down and what to do, then shows the desk once connected', async () => {
    const client = new FakeDeskClient(fakeDesk(), { connection: { kind: 'helper-down', message: 'connect ENOENT /run/baton/helper.sock' } });
    render(<App client={client} />);
    expect(screen.getByRole('heading', { name: 'The Baton helper is not running' })).toBeTruthy();
    expect(screen.getByText('connect ENOENT /run/baton/helper.sock')).toBeTruthy();
    act(() => client.setConnection({ kind: 'connected' }));
    await screen.findByRole('article', { name: 'gpu-a' });
    act(() => client.setConnection({ kind: 'helper-down', message: 'The helper went away.' }));
    expect(screen.getByRole('alert').textContent).toContain('switching is off');
    expect(within(gpuCard('gpu-a')).getByRole('button', { name: 'Move gpu-a to win11' })).toHaveProperty('disabled', true);
  });

  it('not allowed names the group to join', () => {
    render(<App client={new FakeDeskClient(fakeDesk(), { connection: { kind: 'not-allowed', message: 'uid 1000 is not in group baton' } })} />);
    expect(screen.getByRole('heading', { name: 'Not allowed to talk to the helper' })).toBeTruthy();
    expect(screen.getByText(/usermod -aG baton/)).toBeTruthy();
  });

  it('connecting', () => {
    render(<App client={new FakeDeskClient(fakeDesk(), { connection: { kind: 'connecting', attempt: 3 } })} />);
    expect(screen.getByRole('heading', { name: 'Reconnecting to the helper (attempt 3)…' })).toBeTruthy();
  });
});

describe('views and keyboard', () => {
  it('arrow keys move between the tabs and Alt+N jumps to a view', async () => {
    render(<App client={new FakeDeskClient(fakeDesk())} />);
    await screen.findByRole('article', { name: 'gpu-a' });
    const desk = screen.getByRole('tab', { name: 'Desk' });
    desk.focus();
    fireEvent.keyDown(desk, { key: 'ArrowRight' });
    expect(screen.getByRole('tab', { name: 'VMs' }).getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(screen.getByRole('tab', { name: 'VMs' }));
    expect(screen.getByRole('table').textContent).toContain('hot-unplug');
    fireEvent.keyDown(window, { key: '4', altKey: true });
    expect(screen.getByRole('heading', { name: 'Settings' })).toBeTruthy();
    expect(screen.getByText('/etc/baton/baton.yaml:12:5')).toBeTruthy();
    fireEvent.keyDown(document.activeElement!, { key: 'End' });
    expect(screen.getByRole('tab', { name: 'Settings' }).getAttribute('aria-selected')).toBe('true');
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowRight' });
    expect(screen.getByRole('tab', { name: 'Desk' }).getAttribute('aria-selected')).toBe('true');
  });

  it('history: filters reach the client as a query, a bad time range is named, clearing brings all back', async () => {
    const client = new FakeDeskClient(fakeDesk(), { history: fakeHistory(500) });
    render(<App client={client} initialView="history" />);
    expect((await screen.findByTestId('history-count')).textContent).toMatch(/Loading|500 switches recorded/);
    await waitFor(() => expect(screen.getByTestId('history-count').textContent).toBe('500 switches recorded.'));
    fireEvent.change(screen.getByRole('combobox', { name: 'Outcome' }), { target: { value: 'rolled-back' } });
    await waitFor(() => expect(screen.getByTestId('history-count').textContent).toBe('50 switches match.'));
    expect(client.calls.at(-1)).toEqual({ method: 'historyPage', args: [{ outcome: 'rolled-back', limit: 200, offset: 0 }] });
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-12-02T10:00' } });
    fireEvent.change(screen.getByLabelText('To'), { target: { value: '2026-12-01T10:00' } });
    expect(screen.getByRole('alert').textContent).toBe('"to" must be after "from"');
    fireEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(screen.getByTestId('history-count').textContent).toBe('500 switches recorded.'));
  });
});

describe('StepTimeline', () => {
  it('lists every step with its start, duration and error, and the switch outcome, rollback and final owner', () => {
    const entry = {
      ...fakeHistory(1)[0]!,
      id: 'sw-9', outcome: 'rolled-back' as const, from: 'host', to: 'win11', finalOwner: 'host', error: 'attach: win11 did not accept the device within 10 s',
      rolledBack: ['undo reset', 'undo claim'],
      steps: [
        { name: 'claim', outcome: 'ok' as const, ms: 150 },
        { name: 'reset', outcome: 'ok' as const, ms: 1200 },
        { name: 'attach', outcome: 'failed' as const, ms: 10_000, error: 'win11 did not accept the device within 10 s' },
      ],
    };
    render(<StepTimeline entry={entry} />);
    const rows = screen.getAllByRole('row').slice(1).map((r) => r.textContent);
    expect(rows).toEqual([
      'claimok+0 ms150 ms',
      'resetok+150 ms1.2 s',
      'attachfailed: win11 did not accept the device within 10 s+1.3 s10 s',
    ]);
    expect(screen.getByText('Rolled back: undo reset, undo claim.')).toBeTruthy();
    expect(screen.getByText(/The GPU ended with/).textContent).toContain('The GPU ended with Host.');
    expect(screen.getByText('Reason: attach: win11 did not accept the device within 10 s')).toBeTruthy();
  });
});
