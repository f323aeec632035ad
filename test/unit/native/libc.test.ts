import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NativeError, peerCredentials } from '../../../native/libc.js';
import { vfioGroupStatus } from '../../../native/vfio.js';

function socketFd(sock: Socket): number {
  // libuv's handle carries the fd; Node has no public API for it.
  return (sock as unknown as { _handle: { fd: number } })._handle.fd;
}

describe('libc through koffi', () => {
  it('reads the peer credentials of a real Unix socket connection (SO_PEERCRED)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'baton-cred-')), 's.sock');
    const seen = new Promise<{ pid: number; uid: number; gid: number }>((resolve, reject) => {
      const server = createServer((sock) => {
        try {
          resolve(peerCredentials(socketFd(sock)));
        } catch (err) {
          reject(err);
        } finally {
          sock.destroy();
          server.close();
        }
      }).listen(path, () => connect(path).on('error', () => {}));
    });
    const cred = await seen;
    expect(cred.pid).toBe(process.pid);
    expect(cred.uid).toBe(process.getuid?.());
    expect(cred.gid).toBe(process.getgid?.());
  });

  it('maps a failing ioctl to its errno name: VFIO_GROUP_GET_STATUS on a file that is not a VFIO group', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-vfio-'));
    writeFileSync(join(dir, '7'), '');
    let caught: unknown;
    try {
      vfioGroupStatus(7, dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NativeError);
    expect((caught as NativeError).code).toBe('ENOTTY');
    expect((caught as NativeError).message).toContain('group 7');
  });

  it('names the missing group node when /dev/vfio/N does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-vfio-'));
    expect(() => vfioGroupStatus(3, dir)).toThrow(/ENOENT/);
    expect(() => vfioGroupStatus(-1, dir)).toThrow(RangeError);
  });
});
