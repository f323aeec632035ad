// The `inputs:` section: keyboards and mice (evdev devices, by stable path) that follow a GPU into
// a VM, and the return chord that brings the GPU back. Schema pieces plus the cross-field checks,
// kept in one file so the rest of the config stays untouched.
import { z } from 'zod';
import { DEFAULT_RETURN_CHORD, keyCode } from '../input/codes.js';
import { formatPath, type PathSegment } from './positions.js';
import { name } from './fields.js';

/** /dev/input/by-id/NAME or /dev/input/by-path/NAME: links udev keeps stable across reboots and replugs. */
const STABLE_DIRS = ['/dev/input/by-id/', '/dev/input/by-path/'];
/** evdev links carry "-event" (…-event-kbd, …-event-mouse, …-event-if01); "…-mouse" alone is the legacy mousedev node. */
const EVDEV_LINK = /-event(?:-[A-Za-z0-9_.]+)*$/;

export const inputDevicePath = z.string().superRefine((value, ctx) => {
  const dir = STABLE_DIRS.find((d) => value.startsWith(d));
  const rest = dir === undefined ? '' : value.slice(dir.length);
  if (!value.startsWith('/')) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an absolute path (expected /dev/input/by-id/...-event-kbd)` });
  } else if (value.split('/').includes('..') || value.includes('\0')) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} must not contain ".." or NUL` });
  } else if (dir === undefined || rest === '' || rest.includes('/')) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a stable input path; use a link in /dev/input/by-id/ or /dev/input/by-path/ (an /dev/input/eventN number changes between boots)` });
  } else if (!EVDEV_LINK.test(rest)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not an evdev link (its name should end in -event-kbd, -event-mouse or the like; a link ending in -mouse alone is the legacy mousedev node)` });
  }
});

const chordKey = z.string().superRefine((value, ctx) => {
  if (keyCode(value) === undefined) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a key Baton knows (use the kernel's names, as evtest prints them: KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_SCROLLLOCK, KEY_F12, ...)` });
  }
});

export const RETURN_ACTIONS = ['host', 'cycle'] as const;

const returnChord = z.strictObject({
  /** Keys held together; default both Ctrl keys, as QEMU's own grab toggle. */
  keys: z.array(chordKey).min(2, 'a return chord needs at least two keys').max(4, 'a return chord has at most four keys').default([...DEFAULT_RETURN_CHORD]),
  /** host: move the GPU whose VM has the input back to the host; cycle: on to its next target. */
  action: z.enum(RETURN_ACTIONS).default('host'),
});

const inputDevice = z.strictObject({ name, path: inputDevicePath });

export const inputsSection = z.strictObject({
  devices: z.array(inputDevice).default([]),
  /** The inputs that follow every GPU that does not list its own `inputs`. */
  follow: z.array(name).default([]),
  returnChord: returnChord.prefault({}),
});

/** gpus[].inputs: the input names that follow this GPU into a VM. */
export const gpuInputs = z.array(name).optional();

export type InputsConfig = z.output<typeof inputsSection>;
export type InputDeviceConfig = InputsConfig['devices'][number];
export type ReturnAction = (typeof RETURN_ACTIONS)[number];

// --- cross-field checks (on the raw YAML data, like checks.ts) ---

type Raw = Record<string, unknown>;
const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const obj = (x: unknown): Raw | undefined => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Raw) : undefined);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);

export type InputProblem = { path: PathSegment[]; message: string };

export function inputProblems(root: Raw): InputProblem[] {
  const problems: InputProblem[] = [];
  const section = obj(root.inputs);
  const names = new Map<string, PathSegment[]>();
  const paths = new Map<string, PathSegment[]>();
  list(section?.devices).forEach((d, i) => {
    const device = obj(d);
    const n = str(device?.name);
    const p = str(device?.path);
    for (const [value, seen, field, what] of [[n, names, 'name', 'input name'], [p, paths, 'path', 'input path']] as const) {
      if (value === undefined) continue;
      const first = seen.get(value);
      if (first) problems.push({ path: ['inputs', 'devices', i, field], message: `duplicate ${what} ${JSON.stringify(value)} (first used at ${formatPath(first)})` });
      else seen.set(value, ['inputs', 'devices', i, field]);
    }
  });
  const known = [...names.keys()];
  const unknown = (value: string) => `unknown input ${JSON.stringify(value)} (known: ${known.length ? known.join(', ') : 'none configured under inputs.devices'})`;

  // Each input follows one GPU: two GPUs in two VMs cannot both have the one keyboard.
  const follower = new Map<string, PathSegment[]>();
  const claim = (value: string, path: PathSegment[]) => {
    if (!names.has(value)) return problems.push({ path, message: unknown(value) });
    const first = follower.get(value);
    if (first) problems.push({ path, message: `input ${JSON.stringify(value)} already follows the GPU at ${formatPath(first)}; an input follows one GPU` });
    else follower.set(value, path);
  };
  const gpus = list(root.gpus).map(obj);
  gpus.forEach((gpu, i) => list(gpu?.inputs).forEach((v, j) => str(v) !== undefined && claim(str(v) ?? '', ['gpus', i, 'inputs', j])));
  const withoutOwn = gpus.filter((g) => g && g.inputs === undefined).length;
  list(section?.follow).forEach((v, j) => {
    const value = str(v);
    if (value === undefined) return;
    if (!names.has(value)) problems.push({ path: ['inputs', 'follow', j], message: unknown(value) });
    else if (withoutOwn > 1) problems.push({ path: ['inputs', 'follow', j], message: `${withoutOwn} GPUs have no inputs of their own, so ${JSON.stringify(value)} would follow all of them; list inputs per GPU (gpus[].inputs) instead` });
    else if (withoutOwn === 1) claim(value, ['inputs', 'follow', j]);
  });

  const keys = list(obj(section?.returnChord)?.keys);
  const seenKeys = new Set<string>();
  keys.forEach((k, i) => {
    const key = str(k);
    if (key === undefined) return;
    if (seenKeys.has(key)) problems.push({ path: ['inputs', 'returnChord', 'keys', i], message: `${key} is listed twice in the chord` });
    seenKeys.add(key);
  });
  return problems;
}
