// The one error type of the ROM host code: a message naming the device or file, plus hints to act on.

export class RomError extends Error {
  constructor(message: string, readonly details: string[] = [], readonly errno?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RomError';
  }
}

export const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;
