// Users and groups from /etc/passwd and /etc/group: enough to decide who may talk to the helper.
// Read on every check, so adding someone to the group takes effect without a restart.
import { readFileSync } from 'node:fs';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface AccountFiles {
  passwd: string;
  group: string;
}

export const SYSTEM_ACCOUNT_FILES: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' };

function readLines(path: string): string[][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(':'));
}

function id(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

export function readUsers(path: string): UserEntry[] {
  const users: UserEntry[] = [];
  for (const [name, , uid, gid] of readLines(path)) {
    const u = id(uid);
    const g = id(gid);
    if (name && u !== null && g !== null) users.push({ name, uid: u, gid: g });
  }
  return users;
}

export function readGroups(path: string): GroupEntry[] {
  const groups: GroupEntry[] = [];
  for (const [name, , gid, members = ''] of readLines(path)) {
    const g = id(gid);
    if (name && g !== null) groups.push({ name, gid: g, members: members.split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return groups;
}

export function findGroup(files: AccountFiles, name: string): GroupEntry | undefined {
  return readGroups(files.group).find((g) => g.name === name);
}

/** helper.users and helper.group entries that name no account here (uids are taken as they are). */
export function missingAccounts(helper: { group: string; users: readonly (string | number)[] }, files: AccountFiles = SYSTEM_ACCOUNT_FILES): string[] {
  const problems: string[] = [];
  if (!findGroup(files, helper.group)) problems.push(`helper.group: no group named ${JSON.stringify(helper.group)} in ${files.group}`);
  const users = readUsers(files.passwd);
  for (const entry of helper.users) {
    if (typeof entry === 'string' && !users.some((u) => u.name === entry)) problems.push(`helper.users: no user named ${JSON.stringify(entry)} in ${files.passwd}`);
  }
  return problems;
}
