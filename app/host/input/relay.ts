// The helper's side of the input relay: starts the relay child for the inputs that follow one GPU
// into a VM, waits for it to report its virtual devices, and passes on the chord and device loss.
// Stopping closes the child's stdin; the child lets go of the grab and destroys the virtual devices
// (and the kernel does both anyway if the child dies).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LatencySummary } from '../../domain/input/latency.js';

export interface RelayRequest {
  devices: { name: string; path: string }[];
  /** Chord key codes (KEY_*). */
  chord: number[];
  /** How long the child may take to grab and create its devices. */
  readyDeadlineMs?: number;
  /** Given with the request, not after start: the child's lines can arrive in the chunk that says ready. */
  onChord: () => void;
  onLost: (input: string) => void;
}

export interface RelayedDevice {
  name: string;
  /** The virtual device's evdev node, for QEMU's input-linux object. */
  node: string;
}

export interface RelayHandle {
  readonly devices: RelayedDevice[];
  /** Resolves when the child has gone, however it went (the grab is released by then). */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** The child's own time per event, as it reported when stopping (null if it died without a word). */
  stop(): Promise<LatencySummary | null>;
}

export interface InputRelayPort {
  start(request: RelayRequest): Promise<RelayHandle>;
}

export class RelayStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayStartError';
  }
}

/** How the child is run: the real one by default; tests pass a stand-in script. */
export interface RelayChildCommand {
  command: string;
  args: (requestJson: string) => string[];
}

const REAL_CHILD: RelayChildCommand = {
  command: process.execPath,
  args: (json) => [fileURLToPath(new URL('./relay-child.js', import.meta.url)), json],
};

export function createInputRelay(child: RelayChildCommand = REAL_CHILD): InputRelayPort {
  return { start: (request) => startRelay(child, request) };
}

function startRelay(child: RelayChildCommand, request: RelayRequest): Promise<RelayHandle> {
  const proc: ChildProcess = spawn(child.command, child.args(JSON.stringify({ devices: request.devices, chord: request.chord })), {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, BATON_INPUT_RELAY_CHILD: '1', ELECTRON_RUN_AS_NODE: '1' },
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise<RelayHandle>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new RelayStartError(message));
    };
    const timer = setTimeout(() => fail(`the input relay did not report ready within ${request.readyDeadlineMs ?? 5000} ms`), request.readyDeadlineMs ?? 5000);
    proc.once('error', (err) => fail(`cannot start the input relay: ${err.message}`));
    void exited.then(({ code, signal }) => fail(`the input relay exited before it was ready (${signal ?? `code ${code}`})`));
    let latency: LatencySummary | null = null;
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    // 'exit' can come before the child's last lines are read: stop() waits for the end of its stdout too.
    const linesEnded = new Promise<void>((resolve) => lines.once('close', resolve));
    lines.on('line', (line) => {
      let message: { type?: string; devices?: RelayedDevice[]; message?: string; name?: string; latency?: LatencySummary };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return fail(`the input relay said something that is not JSON: ${line.slice(0, 200)}`);
      }
      if (message.type === 'error') return fail(`input relay: ${message.message ?? 'failed'}`);
      if (message.type === 'chord') return request.onChord();
      if (message.type === 'lost') return request.onLost(String(message.name));
      if (message.type === 'stopped') { latency = message.latency ?? null; return; }
      if (message.type === 'ready' && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({
          devices: message.devices ?? [],
          exited,
          stop: async () => {
            proc.stdin?.end();
            await Promise.all([exited, linesEnded]);
            return latency;
          },
        });
      }
    });
  });
}
