// Whether a ROM belongs to a given GPU: vendor, device (or the PCIR 3.0 device list) and class of every image.
import { classHex, idPair } from './hex.js';
import { parseRom, verdictOf } from './parse.js';
import type { DeviceIds, Finding, RomImage, RomReport, Verdict } from './types.js';

export interface DeviceCheck {
  report: RomReport;
  /** The ROM's own findings followed by the ones about the device. */
  findings: Finding[];
  verdict: Verdict;
}

export function checkRomForDevice(rom: Uint8Array | RomReport, gpu: DeviceIds): DeviceCheck {
  const report = rom instanceof Uint8Array ? parseRom(rom) : rom;
  const findings = [...report.findings, ...report.images.flatMap((image) => imageFindings(image, gpu))];
  return { report, findings, verdict: verdictOf(findings) };
}

function imageFindings(image: RomImage, gpu: DeviceIds): Finding[] {
  const out: Finding[] = [];
  const rom = `image ${image.index} (${image.codeTypeName}) is for ${idPair(image.vendor, image.device)}`;
  const gpuIds = `the device is ${idPair(gpu.vendor, gpu.device)}`;
  const base = { image: image.index, offset: image.pcirOffset };
  if (image.vendor !== gpu.vendor) {
    out.push({ ...base, code: 'vendor-mismatch', severity: 'error', offset: image.pcirOffset + 4, message: `${rom}, ${gpuIds}: different vendor` });
  } else if (image.device !== gpu.device && !image.deviceList.includes(gpu.device)) {
    const list = image.deviceList.length ? ` (device list: ${image.deviceList.map((d) => d.toString(16).padStart(4, '0')).join(', ')})` : '';
    out.push({ ...base, code: 'device-mismatch', severity: 'error', offset: image.pcirOffset + 6, message: `${rom}${list}, ${gpuIds}: different device` });
  }
  const romBase = image.classCode >> 16;
  const gpuBase = gpu.classCode >> 16;
  const classes = `image ${image.index} declares class ${classHex(image.classCode)}, the GPU reports ${classHex(gpu.classCode)}`;
  if (romBase !== gpuBase) {
    out.push({ ...base, code: 'class-mismatch', severity: 'error', offset: image.pcirOffset + 0x0d, message: `${classes}: a different kind of device` });
  } else if (((image.classCode >> 8) & 0xff) !== ((gpu.classCode >> 8) & 0xff)) {
    // Same base class, other subclass: e.g. a VGA ROM (0300) on a GPU that presents itself as 3D (0302).
    out.push({ ...base, code: 'subclass-mismatch', severity: 'warning', offset: image.pcirOffset + 0x0d, message: `${classes}: same base class, different subclass` });
  }
  return out;
}
