// Parses one image of the chain at a given offset, recording every defect of that image as a finding.
import { hex } from './hex.js';
import {
  Efi, EFI_SIGNATURE, HEADER_LENGTH, LAST_IMAGE, Pcir, PCIR_MIN_LENGTH, PCIR_POINTER, UNIT,
  bytesAt, hasPcirSignature, sumMod256, u16, u32, u8,
} from './layout.js';
import type { CodeTypeName, EfiHeader, Finding, LegacyHeader, RomImage } from './types.js';

const CODE_TYPES: Record<number, CodeTypeName> = { 0: 'x86', 1: 'openfirmware', 2: 'pa-risc', 3: 'efi' };
const MAX_DEVICE_LIST = 256;

/** The image at `offset`, or undefined when its header is too broken to know its length (the chain stops). */
export function parseImage(data: Uint8Array, offset: number, index: number, findings: Finding[]): RomImage | undefined {
  const at = `image ${index} at ${hex(offset)}`;
  const add = (f: Omit<Finding, 'image'>) => findings.push({ ...f, image: index });

  if (offset + HEADER_LENGTH > data.length) {
    add({ code: 'header-truncated', severity: 'error', offset, message: `${at}: the data ends inside the ${HEADER_LENGTH}-byte ROM header (${data.length - offset} bytes left)` });
    return undefined;
  }
  const pointer = u16(data, offset + PCIR_POINTER);
  const pcir = offset + pointer;
  const available = data.length - offset;
  const declared = u8(data, offset + 2) * UNIT;
  if (pointer >= HEADER_LENGTH && pcir + PCIR_MIN_LENGTH > data.length && pointer < declared) {
    // The PCIR lies past the end, inside the size byte 0x02 declares: the image was cut (SeaVGABIOS keeps its PCIR at the end).
    add({ code: 'truncated', severity: 'error', offset: offset + 2, message: `${at}: the data ends at ${hex(data.length)}, before the PCIR structure at ${hex(pcir)}; byte 0x02 declares ${declared} bytes but only ${available} remain: the data is cut short by ${declared - available} bytes` });
    return undefined;
  }
  if (pointer < HEADER_LENGTH || pcir + PCIR_MIN_LENGTH > data.length) {
    const why = pointer === 0 ? 'is 0: the image has no PCIR structure (an ISA-style ROM?)'
      : pointer < HEADER_LENGTH ? 'points into the ROM header' : `points past the end of the data (${hex(data.length)})`;
    add({ code: 'pcir-pointer-out-of-range', severity: 'error', offset: offset + PCIR_POINTER, message: `${at}: the PCIR pointer (${hex(pointer, 4)}) ${why}` });
    return undefined;
  }
  if (!hasPcirSignature(data, pcir)) {
    add({ code: 'pcir-bad-signature', severity: 'error', offset: pcir, message: `${at}: no "PCIR" signature at ${hex(pcir)} (found ${bytesAt(data, pcir, 4)})` });
    return undefined;
  }
  const units = u16(data, pcir + Pcir.imageLength);
  if (units === 0) {
    add({ code: 'image-length-zero', severity: 'error', offset: pcir + Pcir.imageLength, message: `${at}: the PCIR image length is 0` });
    return undefined;
  }
  const length = units * UNIT;
  const truncated = length > available;
  if (truncated) {
    add({ code: 'truncated', severity: 'error', offset: pcir + Pcir.imageLength, message: `${at} declares ${length} bytes (${units} × 512) but only ${available} remain: the data is cut short by ${length - available} bytes` });
  }
  if (pointer + PCIR_MIN_LENGTH > length) {
    add({ code: 'pcir-pointer-out-of-range', severity: 'error', offset: offset + PCIR_POINTER, message: `${at}: the PCIR structure (${hex(pcir)}) lies outside the image's ${length} bytes` });
  }
  const pcirLength = u16(data, pcir + Pcir.length);
  if (pcirLength < PCIR_MIN_LENGTH) {
    add({ code: 'pcir-length-short', severity: 'warning', offset: pcir + Pcir.length, message: `${at}: the PCIR length field is ${hex(pcirLength)}, below the minimum ${hex(PCIR_MIN_LENGTH)}` });
  }
  const codeType = u8(data, pcir + Pcir.codeType);
  const codeTypeName = CODE_TYPES[codeType] ?? 'unknown';
  if (codeTypeName === 'unknown') {
    add({ code: 'unknown-code-type', severity: 'warning', offset: pcir + Pcir.codeType, message: `${at}: unknown code type ${hex(codeType, 2)}` });
  }
  const image: RomImage = {
    index, offset, length, pcirOffset: pcir,
    vendor: u16(data, pcir + Pcir.vendor),
    device: u16(data, pcir + Pcir.device),
    deviceList: [],
    classCode: u8(data, pcir + Pcir.classCode) | (u8(data, pcir + Pcir.classCode + 1) << 8) | (u8(data, pcir + Pcir.classCode + 2) << 16),
    pcirLength,
    pcirRevision: u8(data, pcir + Pcir.revision),
    codeRevision: u16(data, pcir + Pcir.codeRevision),
    codeType, codeTypeName,
    last: (u8(data, pcir + Pcir.indicator) & LAST_IMAGE) !== 0,
    truncated,
  };
  image.deviceList = readDeviceList(data, image, add);
  if (codeTypeName === 'x86') image.legacy = readLegacy(data, image, add);
  if (codeTypeName === 'efi') image.efi = readEfi(data, image, add);
  return image;
}

type Add = (f: Omit<Finding, 'image'>) => void;

/** Checksums the x86 image over byte 0x02 × 512, the range the legacy BIOS itself sums. */
function readLegacy(data: Uint8Array, image: RomImage, add: Add): LegacyHeader {
  const at = `x86 image ${image.index} at ${hex(image.offset)}`;
  const sizeBytes = u8(data, image.offset + 2) * UNIT;
  if (sizeBytes !== image.length) {
    add({ code: 'legacy-size-mismatch', severity: 'warning', offset: image.offset + 2, message: `${at}: the size byte at 0x02 says ${sizeBytes} bytes, the PCIR says ${image.length}` });
  }
  const range = sizeBytes || image.length;
  const end = image.offset + range;
  const sum = sumMod256(data, image.offset, Math.min(end, data.length));
  const complete = end <= data.length;
  if (!complete && !image.truncated) {
    add({ code: 'truncated', severity: 'error', offset: image.offset + 2, message: `${at}: the size byte at 0x02 says ${range} bytes but only ${data.length - image.offset} remain` });
  }
  const checksumOk = complete && sum === 0;
  if (complete && !checksumOk) {
    add({ code: 'bad-checksum', severity: 'error', offset: image.offset, message: `${at}: bytes ${hex(image.offset)}-${hex(end - 1)} sum to ${hex(sum, 2)} mod 256, not 0 (bytes changed after the checksum was set)` });
  }
  return { sizeBytes, sum, checksumOk };
}

function readEfi(data: Uint8Array, image: RomImage, add: Add): EfiHeader {
  const o = image.offset;
  const efi: EfiHeader = {
    initSizeBytes: u16(data, o + Efi.initSize) * UNIT,
    signature: u32(data, o + Efi.signature),
    subsystem: u16(data, o + Efi.subsystem),
    machineType: u16(data, o + Efi.machineType),
    compression: u16(data, o + Efi.compression),
    imageHeaderOffset: u16(data, o + Efi.imageHeaderOffset),
  };
  const at = `EFI image ${image.index} at ${hex(o)}`;
  if (efi.signature !== EFI_SIGNATURE) {
    add({ code: 'efi-bad-signature', severity: 'error', offset: o + Efi.signature, message: `${at}: EFI signature is ${hex(efi.signature, 4)}, not 0x0ef1` });
  }
  if (efi.initSizeBytes > image.length) {
    add({ code: 'efi-size-mismatch', severity: 'warning', offset: o + Efi.initSize, message: `${at}: initialization size ${efi.initSizeBytes} exceeds the image length ${image.length}` });
  }
  return efi;
}

/** PCIR 3.0 device list: u16 device ids at PCIR + pointer, ended by 0. */
function readDeviceList(data: Uint8Array, image: RomImage, add: Add): number[] {
  const pointer = u16(data, image.pcirOffset + Pcir.deviceList);
  if (image.pcirRevision < 3 || pointer === 0) return [];
  const start = image.pcirOffset + pointer;
  const list: number[] = [];
  for (let o = start; list.length < MAX_DEVICE_LIST; o += 2) {
    if (o + 2 > data.length) {
      add({ code: 'device-list-out-of-range', severity: 'warning', offset: image.pcirOffset + Pcir.deviceList, message: `image ${image.index}: the PCIR device list at ${hex(start)} runs past the end of the data` });
      return [];
    }
    const id = u16(data, o);
    if (id === 0) break;
    list.push(id);
  }
  return list;
}
