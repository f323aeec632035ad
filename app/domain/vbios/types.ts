// What a parsed option ROM (VBIOS) looks like: its image chain and every defect found, each at a byte offset.

export type CodeTypeName = 'x86' | 'openfirmware' | 'pa-risc' | 'efi' | 'unknown';

export type Severity = 'error' | 'warning' | 'info';

export type FindingCode =
  | 'empty'
  | 'no-signature'
  | 'leading-bytes'
  | 'header-truncated'
  | 'pcir-pointer-out-of-range'
  | 'pcir-bad-signature'
  | 'pcir-length-short'
  | 'image-length-zero'
  | 'truncated'
  | 'bad-checksum'
  | 'legacy-size-mismatch'
  | 'efi-bad-signature'
  | 'efi-size-mismatch'
  | 'unknown-code-type'
  | 'device-list-out-of-range'
  | 'mixed-ids'
  | 'no-last-image'
  | 'image-after-last'
  | 'trailing-data'
  | 'vendor-mismatch'
  | 'device-mismatch'
  | 'class-mismatch'
  | 'subclass-mismatch';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** Byte offset in the checked data the finding is about. */
  offset: number;
  /** Index of the image in the chain, when the finding belongs to one. */
  image?: number;
  message: string;
}

export interface LegacyHeader {
  /** Byte 0x02 × 512: the size the legacy BIOS checksums and copies. */
  sizeBytes: number;
  /** Sum of those bytes mod 256; 0 when the checksum is right. */
  sum: number;
  checksumOk: boolean;
}

export interface EfiHeader {
  /** u16 at 0x02 × 512. */
  initSizeBytes: number;
  /** u32 at 0x04; 0x0EF1 when valid. */
  signature: number;
  subsystem: number;
  machineType: number;
  /** 0 uncompressed, 1 EFI-compressed. */
  compression: number;
  /** u16 at 0x16: where the PE image starts, relative to the image. */
  imageHeaderOffset: number;
}

export interface RomImage {
  index: number;
  /** Where the image's 55 AA sits in the checked data. */
  offset: number;
  /** Image length from the PCIR structure, in bytes (units of 512 × 512). */
  length: number;
  /** Absolute offset of the PCIR structure. */
  pcirOffset: number;
  vendor: number;
  device: number;
  /** PCIR 3.0 device list (extra device ids this image supports); empty when absent. */
  deviceList: number[];
  /** 24-bit class code: base << 16 | subclass << 8 | programming interface. */
  classCode: number;
  pcirLength: number;
  pcirRevision: number;
  codeRevision: number;
  codeType: number;
  codeTypeName: CodeTypeName;
  last: boolean;
  /** The image runs past the end of the data. */
  truncated: boolean;
  legacy?: LegacyHeader;
  efi?: EfiHeader;
}

/** valid: no errors. correctable: the only error is bytes before the first image (see correctedRom). */
export type Verdict = 'valid' | 'correctable' | 'invalid';

export interface RomReport {
  size: number;
  /** Offset of the first image (0 unless leading bytes were found); undefined when none was found. */
  start?: number;
  /** Offset just past the last parsed image. */
  end: number;
  images: RomImage[];
  findings: Finding[];
  verdict: Verdict;
}

/** The ids a GPU reports in sysfs (vendor, device, class). */
export interface DeviceIds {
  vendor: number;
  device: number;
  classCode: number;
}
