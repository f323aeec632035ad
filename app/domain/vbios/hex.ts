// Hex spellings used in findings and summaries.

export const hex = (n: number, width = 0): string => '0x' + n.toString(16).padStart(width, '0');

/** "10de:1b80" */
export const idPair = (vendor: number, device: number): string =>
  `${vendor.toString(16).padStart(4, '0')}:${device.toString(16).padStart(4, '0')}`;

/** "030000" */
export const classHex = (classCode: number): string => classCode.toString(16).padStart(6, '0');
