// Heap and resident memory of this process, after a collection when --expose-gc allows one.
export interface MemorySample {
  heapUsed: number;
  rss: number;
  collected: boolean;
}

export function sampleMemory(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, collected: gc !== undefined };
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
