// Who may use the helper: root, the users listed in helper.users (by name or uid), and members of
// helper.group (as their primary group, the connecting process's gid, or listed in /etc/group).
import type { HelperConfig } from '../../domain/config/index.js';
import { findGroup, readUsers, SYSTEM_ACCOUNT_FILES, type AccountFiles } from './accounts.js';

export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/** `who` for logs and messages ("uid 1000 (ann)"); `user` the account name, null when /etc/passwd has none. */
export type AuthorizationResult = { allowed: true; who: string; user: string | null } | { allowed: false; reason: string };
export type Authorizer = (peer: PeerCredentials) => AuthorizationResult;

export function configAuthorizer(helper: Pick<HelperConfig, 'group' | 'users'>, files: AccountFiles = SYSTEM_ACCOUNT_FILES): Authorizer {
  return (peer) => {
    const user = readUsers(files.passwd).find((u) => u.uid === peer.uid);
    const who = user ? `uid ${peer.uid} (${user.name})` : `uid ${peer.uid}`;
    const allow = { allowed: true as const, who, user: user?.name ?? null };
    if (peer.uid === 0) return allow;
    const listed = helper.users.some((entry) => (typeof entry === 'number' ? entry === peer.uid : entry === user?.name));
    if (listed) return allow;
    const group = findGroup(files, helper.group);
    if (group && (peer.gid === group.gid || user?.gid === group.gid || (user && group.members.includes(user.name)))) return allow;
    return {
      allowed: false,
      reason:
        `${who} may not use the Baton helper: only root, members of group ${helper.group}` +
        `${group ? '' : ' (no such group on this system)'} and the users in helper.users may`,
    };
  };
}
