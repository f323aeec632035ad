// L1's input devices by name, read from sysfs. A device can go between the folder listing and the
// read of its name (a relay's virtual twin being destroyed): such a device is simply not there.
import { readdirSync, readFileSync } from 'node:fs';

export function inputDeviceNames(): string[] {
  const names: string[] = [];
  for (const n of readdirSync('/sys/class/input').filter((e) => /^input\d+$/.test(e))) {
    try {
      names.push(readFileSync(`/sys/class/input/${n}/name`, 'utf8').trim());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return names;
}
