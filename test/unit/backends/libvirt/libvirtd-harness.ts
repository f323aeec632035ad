// A real libvirtd for tests (via test/lab/libvirt/start-libvirtd.sh) and guestless TCG domains that
// are always destroyed and undefined again.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LAB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../lab/libvirt');
export const SYSTEM_URI = 'qemu:///system';

export interface Daemon {
  /** Why the real-libvirtd tests cannot run, or null. */
  unavailable: string | null;
  /** True when this run started libvirtd (and must stop it). */
  startedHere: boolean;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => { clearTimeout(timer); resolve({ code: null, stdout, stderr: stderr + error.message }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export async function startDaemon(): Promise<Daemon> {
  if (process.getuid?.() !== 0) return { unavailable: 'not root: libvirtd (system mode) needs root', startedHere: false };
  const result = await run('sh', [path.join(LAB, 'start-libvirtd.sh')], 660_000);
  const last = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || (last !== 'started' && last !== 'already-running')) {
    return { unavailable: `start-libvirtd.sh failed (${result.code}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`, startedHere: false };
  }
  return { unavailable: null, startedHere: last === 'started' };
}

export async function stopDaemon(daemon: Daemon): Promise<void> {
  if (daemon.startedHere) await run('sh', [path.join(LAB, 'stop-libvirtd.sh')], 30_000);
}

/** virsh on the system URI, for test setup and for checking the backend's claims independently. */
export function virshRaw(args: readonly string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('virsh', ['-c', SYSTEM_URI, ...args], { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
}

const created = new Set<string>();
let counter = 0;

export function guestlessDomainXml(name: string, rootPorts = 4): string {
  const ports = Array.from({ length: rootPorts }, (_, i) => `    <controller type='pci' index='${i + 1}' model='pcie-root-port'/>`);
  return [
    `<domain type='qemu'>`,
    `  <name>${name}</name>`,
    `  <memory unit='MiB'>128</memory>`,
    `  <os><type arch='x86_64' machine='q35'>hvm</type></os>`,
    `  <devices>`,
    `    <emulator>/usr/bin/qemu-system-x86_64</emulator>`,
    // libvirt would otherwise add a USB controller and a balloon, which take root ports.
    `    <controller type='usb' model='none'/>`,
    `    <memballoon model='none'/>`,
    `    <controller type='pci' index='0' model='pcie-root'/>`,
    ...ports,
    `  </devices>`,
    `</domain>`,
  ].join('\n');
}

/** Defines a guestless q35 TCG domain with a unique name; removeDomains() destroys and undefines it. */
export async function defineDomain(options: { rootPorts?: number } = {}): Promise<string> {
  const name = `baton-test-${process.pid}-${++counter}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-libvirt-test-'));
  try {
    const file = path.join(dir, 'domain.xml');
    fs.writeFileSync(file, guestlessDomainXml(name, options.rootPorts));
    created.add(name);
    const result = await virshRaw(['define', file]);
    if (result.code !== 0) throw new Error(`virsh define failed: ${result.stderr}`);
    return name;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function removeDomains(): Promise<void> {
  for (const name of [...created]) {
    await virshRaw(['destroy', name]);
    await virshRaw(['undefine', name]);
    created.delete(name);
  }
}

export async function liveXml(domain: string): Promise<string> {
  const result = await virshRaw(['dumpxml', domain]);
  if (result.code !== 0) throw new Error(`virsh dumpxml failed: ${result.stderr}`);
  return result.stdout;
}

export function writeTemp(content: string): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-libvirt-test-'));
  const file = path.join(dir, 'device.xml');
  fs.writeFileSync(file, content);
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
