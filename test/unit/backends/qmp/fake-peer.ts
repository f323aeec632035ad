// A scripted QMP peer on a Unix socket, for what a real QEMU never does (garbage, huge lines, silence).
import net from 'node:net';
import path from 'node:path';
import fs from 'node:fs';
import { tempDir } from './qemu-harness.js';

export const GREETING = '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n';

export interface Request {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
}

export type Handler = (request: Request, peer: PeerConnection) => void;

export class PeerConnection {
  readonly requests: Request[] = [];
  constructor(readonly socket: net.Socket) {}
  send(message: object): void {
    this.socket.write(JSON.stringify(message) + '\r\n');
  }
  reply(request: Request, value: unknown): void {
    this.send({ return: value, id: request.id });
  }
  event(event: string, data: object): void {
    this.send({ event, data, timestamp: { seconds: 1, microseconds: 0 } });
  }
}

export interface FakePeer {
  socketPath: string;
  connections: PeerConnection[];
  close(): Promise<void>;
}

/** Answers qmp_capabilities by itself; every other request goes to handler. */
export async function startFakePeer(options: { greeting?: boolean; handler?: Handler } = {}): Promise<FakePeer> {
  const dir = tempDir();
  const socketPath = path.join(dir, 'fake.sock');
  const connections: PeerConnection[] = [];
  const server = net.createServer((socket) => {
    const peer = new PeerConnection(socket);
    connections.push(peer);
    socket.on('error', () => undefined);
    if (options.greeting !== false) socket.write(GREETING);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
        const request = JSON.parse(buffered.slice(0, at)) as Request;
        buffered = buffered.slice(at + 1);
        peer.requests.push(request);
        if (request.execute === 'qmp_capabilities') peer.reply(request, {});
        else options.handler?.(request, peer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    connections,
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
