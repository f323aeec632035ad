// The JSON sidecar stored next to each ROM, and how it is built from a parse.
import { z } from 'zod';
import type { RomReport } from '../../domain/vbios/types.js';

const hex4 = z.string().regex(/^[0-9a-f]{4}$/);

export const romMetadataSchema = z.object({
  vendor: hex4,
  device: hex4,
  class: z.string().regex(/^[0-9a-f]{6}$/),
  source: z.enum(['captured', 'imported']),
  pciAddress: z.string().optional(),
  sourcePath: z.string().optional(),
  capturedAt: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  images: z.array(z.object({
    offset: z.number(), length: z.number(), codeType: z.string(), vendor: hex4, device: hex4, last: z.boolean(),
  })),
  shadow: z.boolean().optional(),
  /** Set when an import stored a corrected copy (leading bytes cut). */
  corrected: z.object({ cutBytes: z.number() }).optional(),
  notes: z.array(z.string()).optional(),
});

export type RomMetadata = z.infer<typeof romMetadataSchema>;

export const hex4Of = (n: number): string => n.toString(16).padStart(4, '0');

export function imagesSummary(report: RomReport): RomMetadata['images'] {
  return report.images.map((i) => ({
    offset: i.offset, length: i.length, codeType: i.codeTypeName, vendor: hex4Of(i.vendor), device: hex4Of(i.device), last: i.last,
  }));
}
