// Structural sharing between two snapshots: an element equal to the one at the same place before
// keeps its old object, and an array with nothing changed stays the old array. Memoized views
// (GPU cards, the desk picture) then re-render only for what a snapshot really changed.
export function shareUnchanged<T>(previous: readonly T[] | undefined, next: T[]): T[] {
  if (!previous) return next;
  let allSame = previous.length === next.length;
  const out = next.map((item, i) => {
    const old = previous[i];
    if (old !== undefined && JSON.stringify(old) === JSON.stringify(item)) return old;
    allSame = false;
    return item;
  });
  return allSame ? (previous as T[]) : out;
}
