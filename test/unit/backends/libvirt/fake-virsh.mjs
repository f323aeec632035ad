#!/usr/bin/env node
// A stand-in for virsh that serves one running domain from a JSON state file ($FAKE_VIRSH_STATE), so
// the vfio hostdev paths can be exercised without a host device. It records every call.
import fs from 'node:fs';

const statePath = process.env.FAKE_VIRSH_STATE;
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
const args = process.argv.slice(2);
const command = args[2];
const option = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
state.calls.push(args.slice(2));
const save = () => fs.writeFileSync(statePath, JSON.stringify(state));
const fail = (message) => { save(); process.stderr.write(`error: ${message}\n`); process.exit(1); };

const ports = [1, 2, 3, 4].slice(0, state.rootPorts).map((i) =>
  `<controller type='pci' index='${i}' model='pcie-root-port'><alias name='pci.${i}'/><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x${i - 1}'/></controller>`);

switch (command) {
  case 'domstate': process.stdout.write(`${state.running ? 'running (booted)' : 'shut off (destroyed)'}\n\n`); break;
  case 'dumpxml':
    process.stdout.write(`<domain type='qemu'${state.running ? " id='7'" : ''}><name>fake</name><devices>${ports.join('')}${state.devices.map((d) => d.xml).join('')}</devices></domain>\n`);
    break;
  case 'attach-device': {
    const xml = fs.readFileSync(option('--file'), 'utf8');
    if (state.refuseAttachOf && xml.includes(state.refuseAttachOf)) fail('internal error: refused by the fake');
    const alias = /<alias name='([^']+)'/.exec(xml)[1];
    state.devices.push({ alias, xml });
    process.stdout.write('Device attached successfully\n');
    break;
  }
  case 'detach-device-alias': {
    const alias = option('--alias');
    if (!state.devices.some((d) => d.alias === alias)) fail(`internal error: no device found with alias ${alias}`);
    if (state.guestReleases) state.devices = state.devices.filter((d) => d.alias !== alias);
    process.stdout.write('Device detach request sent successfully\n');
    break;
  }
  default: fail(`fake virsh does not know ${command}`);
}
save();
