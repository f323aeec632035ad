// The access rule on its own, over passwd/group files written for each case.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configAuthorizer } from '../../../../app/helper/daemon/authorize.js';
import { readGroups, readUsers } from '../../../../app/helper/daemon/accounts.js';
import { cleanup, tempSocketDir } from './harness.js';

afterAll(cleanup);

function accountFiles(passwd: string, group: string) {
  const dir = tempSocketDir();
  writeFileSync(join(dir, 'passwd'), passwd);
  writeFileSync(join(dir, 'group'), group);
  return { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
}

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\ncarol:x:1002:4242::/home/carol:/bin/sh\n';
const GROUP = 'root:x:0:\nalice:x:1000:\nbaton:x:4242:bob, dave\n';
const peer = (uid: number, gid = uid) => ({ pid: 1, uid, gid });

describe('configAuthorizer', () => {
  const files = accountFiles(PASSWD, GROUP);
  const allow = configAuthorizer({ group: 'baton', users: [] }, files);

  it('allows root whatever the config says', () => {
    expect(configAuthorizer({ group: 'nogroup', users: [] }, files)(peer(0))).toEqual({ allowed: true, who: 'uid 0 (root)', user: 'root' });
  });

  it('allows members listed in /etc/group, by primary group, and by the connecting gid', () => {
    expect(allow(peer(1001)).allowed).toBe(true); // bob: listed member
    expect(allow(peer(1002, 1002)).allowed).toBe(true); // carol: primary group in passwd
    expect(allow(peer(5000, 4242)).allowed).toBe(true); // unknown user running with the group's gid
  });

  it('refuses others, naming the uid and the user', () => {
    expect(allow(peer(1000))).toEqual({
      allowed: false,
      reason: 'uid 1000 (alice) may not use the Baton helper: only root, members of group baton and the users in helper.users may',
    });
    expect(allow(peer(7777))).toMatchObject({ allowed: false, reason: expect.stringMatching(/^uid 7777 may not/) });
  });

  it('allows helper.users by name and by uid', () => {
    const auth = configAuthorizer({ group: 'baton', users: ['alice', 7777] }, files);
    expect(auth(peer(1000)).allowed).toBe(true);
    expect(auth(peer(7777)).allowed).toBe(true);
    expect(auth(peer(7778)).allowed).toBe(false);
  });

  it('says when the group does not exist', () => {
    const auth = configAuthorizer({ group: 'wheel', users: [] }, files);
    expect(auth(peer(1001))).toMatchObject({ allowed: false, reason: expect.stringContaining('members of group wheel (no such group on this system)') });
  });

  it('reads account files leniently: comments, blank and broken lines are skipped', () => {
    const f = accountFiles('# comment\n\nbroken\nx:x:notanumber:1\neve:x:12:34::/:/bin/sh\n', 'g:x:9:a,,b\nbad:x:\n');
    expect(readUsers(f.passwd)).toEqual([{ name: 'eve', uid: 12, gid: 34 }]);
    expect(readGroups(f.group)).toEqual([{ name: 'g', gid: 9, members: ['a', 'b'] }]);
    expect(readUsers(join(tempSocketDir(), 'missing'))).toEqual([]);
  });
});
