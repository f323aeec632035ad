// One colour per owner, stable across views: host and park have their own, each VM takes the next
// of eight palette slots in config order (wrapping). The values live in theme.css (light and dark).

export const PALETTE_SIZE = 8;

/** The CSS custom property that colours this owner. */
export function ownerColorVar(owner: string, vmNames: readonly string[]): string {
  if (owner === 'host') return '--owner-host';
  if (owner === 'park') return '--owner-park';
  const index = vmNames.indexOf(owner);
  // An owner the config does not list (a VM removed since) still gets a stable slot from its name.
  const slot = index >= 0 ? index % PALETTE_SIZE : hashName(owner) % PALETTE_SIZE;
  return `--owner-${slot}`;
}

function hashName(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h;
}
