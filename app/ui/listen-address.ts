// `--listen ADDR:PORT`: an IP literal and a port. A wildcard address is refused: the Host check
// against DNS rebinding needs the one address browsers will use, and a wildcard would also expose
// the desk on every network the machine is on.
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  /** 0: any free port. */
  port: number;
}

export const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: 0 };

export function parseListenAddress(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text.trim());
  if (!m) throw new Error(`--listen ${JSON.stringify(text)}: expected ADDR:PORT with an IP address, such as 127.0.0.1:8765 or [::1]:8765`);
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  const port = Number(m[3]);
  if (!isIP(host)) throw new Error(`--listen ${JSON.stringify(text)}: ${host} is not an IP address`);
  if (port > 65535) throw new Error(`--listen ${JSON.stringify(text)}: port ${port} is above 65535`);
  if (host === '0.0.0.0' || /^[0:]+$/.test(host)) {
    throw new Error(`--listen ${JSON.stringify(text)}: name one address (the VM network's bridge, such as 192.168.122.1), not every address`);
  }
  return { host, port };
}

/** The authority a browser sends in Host for this address: "127.0.0.1:8765", "[::1]:8765". */
export function authorityOf(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host);
}
