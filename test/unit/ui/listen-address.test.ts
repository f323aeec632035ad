// `--listen`: IP literals and a port only, one address, never every address.
import { describe, expect, it } from 'vitest';
import { authorityOf, parseListenAddress } from '../../../app/ui/listen-address.js';

describe('--listen ADDR:PORT', () => {
  it('takes an IPv4 or a bracketed IPv6 address and a port', () => {
    expect(parseListenAddress('127.0.0.1:8765')).toEqual({ host: '127.0.0.1', port: 8765 });
    expect(parseListenAddress('192.168.122.1:0')).toEqual({ host: '192.168.122.1', port: 0 });
    expect(parseListenAddress('[::1]:8765')).toEqual({ host: '::1', port: 8765 });
    expect(authorityOf('::1', 8765)).toBe('[::1]:8765');
  });

  it('refuses every-address wildcards, host names, bad ports, and says what it wants', () => {
    expect(() => parseListenAddress('0.0.0.0:8765')).toThrow(/name one address .* not every address/);
    expect(() => parseListenAddress('[::]:8765')).toThrow(/not every address/);
    expect(() => parseListenAddress('localhost:8765')).toThrow(/expected ADDR:PORT with an IP address/);
    expect(() => parseListenAddress('127.0.0.1:70000')).toThrow(/above 65535/);
    expect(() => parseListenAddress('999.1.1.1:80')).toThrow(/not an IP address/);
    expect(() => parseListenAddress('127.0.0.1')).toThrow(/expected ADDR:PORT/);
  });
});
