// POSIX ACLs as Linux stores them in the system.posix_acl_access / system.posix_acl_default xattrs
// (include/uapi/linux/posix_acl_xattr.h): a 4-byte version (2), then 8-byte entries
// { le16 tag, le16 perm, le32 id }. A file can look 0644 root:root and still let a named user
// write it through an ACL entry: the mode's group bits are then the ACL mask, not the group's.

export const ACL_ACCESS_XATTR = 'system.posix_acl_access';
export const ACL_DEFAULT_XATTR = 'system.posix_acl_default';

const TAGS = { 0x01: 'user-obj', 0x02: 'user', 0x04: 'group-obj', 0x08: 'group', 0x10: 'mask', 0x20: 'other' } as const;
export type AclTag = (typeof TAGS)[keyof typeof TAGS];

export interface AclEntry {
  tag: AclTag;
  /** read 4, write 2, execute 1 */
  perm: number;
  /** The uid (user) or gid (group); null for the other tags. */
  id: number | null;
}

const WRITE = 2;
const ACL_VERSION = 2;

export class AclFormatError extends Error {}

export function parseAcl(buf: Uint8Array): AclEntry[] {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.length < 4 || (view.length - 4) % 8 !== 0) throw new AclFormatError(`${view.length} bytes is not a POSIX ACL`);
  const version = view.readUInt32LE(0);
  if (version !== ACL_VERSION) throw new AclFormatError(`ACL version ${version}, expected ${ACL_VERSION}`);
  const entries: AclEntry[] = [];
  for (let at = 4; at < view.length; at += 8) {
    const code = view.readUInt16LE(at);
    const tag = (TAGS as Record<number, AclTag>)[code];
    if (!tag) throw new AclFormatError(`unknown ACL tag 0x${code.toString(16)}`);
    entries.push({ tag, perm: view.readUInt16LE(at + 2), id: tag === 'user' || tag === 'group' ? view.readUInt32LE(at + 4) : null });
  }
  return entries;
}

export function encodeAcl(entries: AclEntry[]): Buffer {
  const codes = Object.fromEntries(Object.entries(TAGS).map(([k, v]) => [v, Number(k)])) as Record<AclTag, number>;
  const buf = Buffer.alloc(4 + entries.length * 8);
  buf.writeUInt32LE(ACL_VERSION, 0);
  entries.forEach((e, i) => {
    buf.writeUInt16LE(codes[e.tag], 4 + i * 8);
    buf.writeUInt16LE(e.perm, 6 + i * 8);
    buf.writeUInt32LE(e.id ?? 0xffffffff, 8 + i * 8);
  });
  return buf;
}

/**
 * Who, besides the owner and root, may write through the ACL: named users other than `trustedUids`,
 * named groups other than root's, and the owning group when it is not root's. The mask limits
 * every one of them, as the kernel does.
 */
export function aclWriters(entries: AclEntry[], fileGid: number, trustedUids: readonly number[]): string[] {
  const mask = entries.find((e) => e.tag === 'mask');
  const effective = (perm: number) => (mask ? perm & mask.perm : perm);
  const writers: string[] = [];
  for (const e of entries) {
    if (!(effective(e.perm) & WRITE)) continue;
    if (e.tag === 'user' && e.id !== null && e.id !== 0 && !trustedUids.includes(e.id)) writers.push(`user ${e.id}`);
    if (e.tag === 'group' && e.id !== 0) writers.push(`group ${e.id}`);
    if (e.tag === 'group-obj' && fileGid !== 0 && mask) writers.push(`group ${fileGid}`);
  }
  return writers;
}
