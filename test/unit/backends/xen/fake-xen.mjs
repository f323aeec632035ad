#!/usr/bin/env node
// A stand-in for xl and the xenstore client (one script: argv[2] "xenstore" picks the latter), serving
// domains and their PV PCI backends from a JSON state file ($FAKE_XEN_STATE). It follows what the Xen
// lab showed: a detach from a guest that cannot answer sets state-N 5 / state 7, logs "Backend … not
// ready" and exits 0. Every call is recorded.
import fs from 'node:fs';

const statePath = process.env.FAKE_XEN_STATE;
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
let args = process.argv.slice(2);
const isXenstore = args[0] === 'xenstore';
if (isXenstore) args = args.slice(1);
state.calls.push([isXenstore ? 'xenstore' : 'xl', ...args]);
const save = () => fs.writeFileSync(statePath, JSON.stringify(state, null, 1));
const fail = (message, code = 1) => { save(); process.stderr.write(`${message}\n`); process.exit(code); };
const out = (text) => process.stdout.write(text);
const domain = (name) => state.domains.find((d) => d.name === name) ?? fail(`${name} is an invalid domain identifier (rc=-6)`);
const bePath = (d) => `/local/domain/0/backend/pci/${d.domid}/0`;
const keys = (d) => state.xenstore[d.domid] ?? (state.xenstore[d.domid] = {});
const devices = (d) => Object.entries(keys(d)).filter(([k]) => /^dev-\d+$/.test(k)).map(([k, v]) => ({ i: Number(k.slice(4)), bdf: v }));

if (isXenstore) {
  const [mode, ...rest] = args;
  if (mode === 'ls') {
    const path = rest[rest.length - 1];
    const d = state.domains.find((x) => bePath(x) === path);
    if (!d || Object.keys(keys(d)).length === 0) fail(`xenstore-ls: xs_directory (${path}): No such file or directory`);
    for (const [k, v] of Object.entries(keys(d))) out(`${path}/${k} = "${v}"\n`);
  } else if (mode === 'write') {
    for (let i = 0; i < rest.length; i += 2) {
      const d = state.domains.find((x) => rest[i].startsWith(`${bePath(x)}/`));
      keys(d)[rest[i].slice(bePath(d).length + 1)] = rest[i + 1];
    }
  } else if (mode === 'rm') {
    for (const p of rest) {
      const d = state.domains.find((x) => p.startsWith(`${bePath(x)}/`));
      delete keys(d)[p.slice(bePath(d).length + 1)];
    }
  } else fail(`xenstore: unknown mode ${mode}`);
  save();
  process.exit(0);
}

const [command] = args;
switch (command) {
  case 'list': {
    if (args[1] === '-l') {
      const d = domain(args[2]);
      out(JSON.stringify([{ domid: d.domid, config: { c_info: { type: d.type ?? 'pv', name: d.name } } }]));
      break;
    }
    out('Name                                        ID   Mem VCPUs\tState\tTime(s)\n');
    out('Domain-0                                     0  1536     2     r-----      74.6\n');
    for (const d of state.domains) out(`${d.name.padEnd(40)} ${String(d.domid).padStart(5)}   256     1     ${d.flags}      11.2\n`);
    break;
  }
  case 'pause': domain(args[1]).flags = '--p---'; break;
  case 'unpause': {
    const d = domain(args[1]);
    d.flags = '-b----';
    // The guest answers a pending Closing: the backend reconnects (libxl is no longer there to remove the keys).
    if (keys(d).state === '7') keys(d).state = '4';
    break;
  }
  case 'pci-list': {
    const list = devices(domain(args[1]));
    if (list.length) out(`Vdev Device\n${list.map((x) => `00.0 ${x.bdf}`).join('\n')}\n`);
    break;
  }
  case 'pci-assignable-list': for (const a of state.assignable) out(`${a} \n`); break;
  case 'pci-assignable-add': state.assignable.push(args[1]); break;
  case 'pci-attach': {
    const d = domain(args[1]);
    const bdf = args[2];
    if (!state.assignable.includes(bdf)) fail(`libxl: error: libxl_pci.c:1:f: PCI device ${bdf} is not assignable`);
    const k = keys(d);
    const n = Number(k.num_devs ?? 0);
    Object.assign(k, { [`dev-${n}`]: bdf, [`key-${n}`]: bdf, [`state-${n}`]: state.exportStalls ? '1' : '3', [`vdev-${n}`]: `0000:00:00.0${n}`, num_devs: String(n + 1), state: state.exportStalls ? '7' : '4' });
    state.assignable = state.assignable.filter((a) => a !== bdf);
    break;
  }
  case 'pci-detach': {
    const force = args[1] === '-f';
    const d = domain(args[force ? 2 : 1]);
    const bdf = args[force ? 3 : 2];
    const k = keys(d);
    const dev = devices(d).find((x) => x.bdf === bdf) ?? fail('libxl: error: libxl_pci.c:1:f: PCI device not attached to this domain');
    if (d.flags.includes('p') || state.guestIgnores) {
      Object.assign(k, { [`state-${dev.i}`]: '5', state: '7' });
      save();
      process.stderr.write(`libxl: error: libxl_device.c:1470:libxl__wait_for_backend: Backend ${bePath(d)} not ready\n`);
      process.exit(0);
    }
    const n = Number(k.num_devs);
    for (let j = dev.i + 1; j < n; j++) for (const key of ['dev', 'key', 'state', 'vdev']) k[`${key}-${j - 1}`] = k[`${key}-${j}`];
    for (const key of ['dev', 'key', 'state', 'vdev']) delete k[`${key}-${n - 1}`];
    k.num_devs = String(n - 1);
    if (n - 1 === 0) state.xenstore[d.domid] = {};
    state.assignable.push(bdf);
    break;
  }
  case 'shutdown': {
    const d = domain(args[1]);
    // guestIgnoresShutdown: a guest busy installing updates takes the request and does nothing.
    if (!state.guestIgnoresShutdown) state.domains = state.domains.filter((x) => x !== d);
    break;
  }
  case 'destroy': {
    const d = domain(args[1]);
    state.domains = state.domains.filter((x) => x !== d);
    break;
  }
  default: fail(`fake xl does not know ${command}`);
}
save();
