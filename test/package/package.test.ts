// The packages as built here (scripts/package.mjs --stub-electron: electron-builder against a stub
// Electron, deb and rpm through packaging/fpm-shim.mjs): what the deb holds and declares, its
// .desktop files and units checked by their own validators, the fuses really set, and a clean
// install and removal in a throwaway Debian root (debootstrap, cached) with the socket unit
// enabled after install; the rpm holds the same files.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { extractFile, listPackage } from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageTestBlocker } from './tools.js';

const root = new URL('../..', import.meta.url).pathname;
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
const deb = join(root, 'release', `baton_${version}_amd64.deb`);
const rpm = join(root, 'release', `baton-${version}.x86_64.rpm`);

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return String(r.stdout);
}

const blocker = packageTestBlocker();
if (blocker) {
  if (process.env.CI === 'true') throw new Error(`package tests cannot run: ${blocker}`);
  console.log(`PACKAGE TESTS SKIPPED: ${blocker}`);
}

const EXPECTED_FILES = [
  '/opt/Baton/baton-tray',
  '/opt/Baton/resources/app.asar',
  '/opt/Baton/resources/assets/icons/tray/baton-idle-dark.png',
  '/opt/Baton/resources/assets/icons/tray/baton-error-light@2x.png',
  '/usr/lib/systemd/system/baton-helper.service',
  '/usr/lib/systemd/system/baton-helper.socket',
  '/usr/lib/sysusers.d/baton.conf',
  '/usr/lib/tmpfiles.d/baton.conf',
  '/usr/lib/udev/rules.d/70-baton-input.rules',
  '/usr/lib/baton/baton',
  '/etc/baton/baton.yaml',
  '/usr/share/applications/org.baton.Baton.desktop',
  '/etc/xdg/autostart/org.baton.Baton.desktop',
  '/usr/share/icons/hicolor/256x256/apps/baton-tray.png',
  '/usr/share/doc/baton/baton.example.yaml',
];

describe.skipIf(blocker !== null)('packages', () => {
  let work = '';
  let tree = '';
  beforeAll(() => {
    if (!(process.env.BATON_PACKAGE_REUSE && existsSync(deb) && existsSync(rpm))) {
      run('node', ['scripts/package.mjs', '--stub-electron', '--targets', 'deb,rpm'], { cwd: root, stdio: 'inherit' });
    }
    work = mkdtempSync('/var/tmp/baton-package-test-');
    tree = join(work, 'deb');
    run('dpkg-deb', ['-x', deb, tree]);
  }, 900_000);
  afterAll(() => {
    // Never delete through a mount still in place (the root's /proc).
    if (work && !readFileSync('/proc/mounts', 'utf8').includes(` ${work}/`)) rmSync(work, { recursive: true, force: true });
  });

  it('dpkg-deb -I: name, version, dependencies, maintainer scripts and the conffile', () => {
    const info = run('dpkg-deb', ['-I', deb]);
    expect(info).toMatch(/^ Package: baton$/m);
    expect(info).toMatch(new RegExp(`^ Version: ${version}$`, 'm'));
    expect(info).toMatch(/^ Architecture: amd64$/m);
    expect(info).toMatch(/^ Depends: .*\blibnotify4\b.*\bsystemd\b/m);
    for (const script of ['postinst', 'prerm', 'postrm']) expect(info).toMatch(new RegExp(`\\s${script}\\s`));
    expect(run('dpkg-deb', ['-f', deb, 'Description'])).toMatch(/^Move a GPU/);
    const control = mkdtempSync(join(work, 'control-'));
    run('dpkg-deb', ['-e', deb, control]);
    expect(readFileSync(join(control, 'conffiles'), 'utf8').trim()).toBe('/etc/baton/baton.yaml');
    const postinst = readFileSync(join(control, 'postinst'), 'utf8');
    expect(postinst).toContain("ln -sf '/opt/Baton/baton-tray' '/usr/bin/baton-tray'");
    expect(postinst).toContain('systemctl enable baton-helper.socket baton-helper.service');
    expect(postinst).not.toMatch(/\$\{(?!\w+\})/);
  });

  it('dpkg-deb -c: the app, the units, sysusers, tmpfiles, the .desktop and autostart entries, root-owned', () => {
    const listing = run('dpkg-deb', ['-c', deb]).trim().split('\n');
    const paths = new Map(listing.map((l) => {
      const parts = l.split(/\s+/);
      return [parts.slice(5).join(' ').replace(/^\./, '').replace(/ -> .*$/, ''), { mode: parts[0] ?? '', owner: parts[1] ?? '' }];
    }));
    for (const f of EXPECTED_FILES) expect(paths.has(f), f).toBe(true);
    expect([...paths.values()].every((p) => p.owner === 'root/root')).toBe(true);
    expect(paths.get('/')?.mode).toBe('drwxr-xr-x');
    expect(paths.get('/usr/lib/baton/baton')?.mode).toBe('-rwxr-xr-x');
    expect(paths.get('/opt/Baton/baton-tray')?.mode).toBe('-rwxr-xr-x');
  });

  it('the units are the helper\'s own, unchanged', () => {
    for (const unit of ['baton-helper.service', 'baton-helper.socket']) {
      expect(readFileSync(join(tree, 'usr/lib/systemd/system', unit), 'utf8')).toBe(readFileSync(join(root, 'assets/systemd', unit), 'utf8'));
    }
    expect(readFileSync(join(tree, 'usr/lib/sysusers.d/baton.conf'), 'utf8')).toMatch(/^g baton -$/m);
    expect(readFileSync(join(tree, 'usr/lib/tmpfiles.d/baton.conf'), 'utf8')).toMatch(/^d \/var\/lib\/baton 0750 root root -$/m);
    // The input relay's virtual devices are QEMU's alone: the host desktop ignores them.
    expect(readFileSync(join(tree, 'usr/lib/udev/rules.d/70-baton-input.rules'), 'utf8')).toBe(readFileSync(join(root, 'assets/udev/70-baton-input.rules'), 'utf8'));
  });

  it('desktop-file-validate passes both .desktop files; their id is the reverse-DNS one Electron sets', () => {
    const app = join(tree, 'usr/share/applications/org.baton.Baton.desktop');
    const autostart = join(tree, 'etc/xdg/autostart/org.baton.Baton.desktop');
    run('desktop-file-validate', [app]);
    run('desktop-file-validate', [autostart]);
    const entry = readFileSync(app, 'utf8');
    expect(entry).toMatch(/^Exec=\/opt\/Baton\/baton-tray %U$/m);
    expect(entry).toMatch(/^StartupWMClass=org\.baton\.Baton$/m);
    expect(entry).toMatch(/^Icon=baton-tray$/m);
    expect(readFileSync(autostart, 'utf8')).toMatch(/^Exec=\/opt\/Baton\/baton-tray --background$/m);
  });

  it('the helper runs on Electron\'s own Node: the unit names the launcher, the launcher sets ELECTRON_RUN_AS_NODE', () => {
    const launcher = readFileSync(join(tree, 'usr/lib/baton/baton'), 'utf8');
    expect(launcher).toContain('ELECTRON_RUN_AS_NODE=1');
    expect(launcher).toContain('exec /opt/Baton/baton-tray /opt/Baton/resources/app.asar/bin/baton "$@"');
    expect(readFileSync(join(tree, 'usr/lib/systemd/system/baton-helper.service'), 'utf8')).toMatch(/^ExecStart=\/usr\/lib\/baton\/baton helper /m);
  });

  it('the fuses are set in the packaged binary', () => {
    const binary = readFileSync(join(tree, 'opt/Baton/baton-tray'));
    const at = binary.indexOf('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX') + 32;
    expect(binary[at]).toBe(1);
    const wire = binary.subarray(at + 2, at + 2 + (binary[at + 1] ?? 0)).toString();
    // RunAsNode, CookieEncryption on; NODE_OPTIONS, --inspect off; asar integrity, asar only on; V8 snapshot, file:// privileges off.
    expect(wire).toBe('11001100');
  });

  it('the app archive holds main, the preload bundle, the renderer build and the CLI, with the desktop name', () => {
    const asar = join(tree, 'opt/Baton/resources/app.asar');
    const files = new Set(listPackage(asar, { isPack: false }));
    for (const f of ['/dist/app/main/index.js', '/dist/app/main/electron/main.js', '/dist/app/main/preload.cjs', '/renderer/dist/index.html', '/bin/baton', '/dist/app/cli/bin.js', '/node_modules/zod/package.json']) {
      expect(files.has(f), f).toBe(true);
    }
    expect([...files].some((f) => f.startsWith('/dist/test/') || f.startsWith('/test/') || f.startsWith('/app/'))).toBe(false);
    const pkg = JSON.parse(extractFile(asar, 'package.json').toString());
    expect(pkg).toMatchObject({ main: 'dist/app/main/index.js', desktopName: 'org.baton.Baton.desktop' });
    const html = extractFile(asar, 'renderer/dist/index.html').toString();
    expect(html).not.toMatch(/src="\//);
  });

  describe('install and removal in a throwaway Debian root', () => {
    let chrootDir = '';
    let mounted = false;
    beforeAll(() => {
      const tarball = run('sh', [join(root, 'test/package/make-root.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).trim();
      chrootDir = join(work, 'root');
      mkdirSync(chrootDir);
      run('tar', ['-C', chrootDir, '-xf', tarball]);
      cpSync(deb, join(chrootDir, 'tmp/baton.deb'));
      // As on a running system (systemd-tmpfiles and systemctl want /proc); no /run/systemd/system
      // in the root, so the scripts enable the units without starting anything.
      run('mount', ['-t', 'proc', 'proc', join(chrootDir, 'proc')]);
      mounted = true;
    }, 1_800_000);
    afterAll(() => {
      if (mounted) run('umount', [join(chrootDir, 'proc')]);
    });
    const inRoot = (...args: string[]) => run('chroot', [chrootDir, ...args], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } });
    const path = (p: string) => join(chrootDir, p);

    it('dpkg -i installs with nothing forced: links, group, folders, the socket and service enabled', () => {
      inRoot('dpkg', '-i', '/tmp/baton.deb');
      expect(inRoot('dpkg-query', '-W', '-f=${Status}', 'baton')).toBe('install ok installed');
      expect(readlinkSync(path('usr/bin/baton-tray'))).toBe('/opt/Baton/baton-tray');
      expect(readlinkSync(path('usr/bin/baton'))).toBe('/usr/lib/baton/baton');
      expect(readFileSync(path('etc/group'), 'utf8')).toMatch(/^baton:x:\d+:$/m);
      expect(statSync(path('var/lib/baton')).mode & 0o7777).toBe(0o750);
      // systemctl writes /lib/... on a merged-/usr Debian; either names the installed unit.
      expect(readlinkSync(path('etc/systemd/system/sockets.target.wants/baton-helper.socket'))).toMatch(/^(\/usr)?\/lib\/systemd\/system\/baton-helper\.socket$/);
      expect(readlinkSync(path('etc/systemd/system/multi-user.target.wants/baton-helper.service'))).toMatch(/^(\/usr)?\/lib\/systemd\/system\/baton-helper\.service$/);
      expect(inRoot('systemctl', 'is-enabled', 'baton-helper.socket').trim()).toBe('enabled');
    });

    it('systemd-analyze verify accepts the units as installed (their ExecStart exists there)', () => {
      const out = spawnSync('chroot', [chrootDir, 'systemd-analyze', 'verify', '/usr/lib/systemd/system/baton-helper.socket', '/usr/lib/systemd/system/baton-helper.service'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      expect(`${out.stdout}${out.stderr}`.split('\n').filter((l) => /baton/.test(l))).toEqual([]);
      expect(out.status).toBe(0);
    });

    it('dpkg -r removes it and disables the units; /var/lib/baton and the conffile stay; purge takes the conffile', () => {
      run('touch', [path('var/lib/baton/history.jsonl')]);
      inRoot('dpkg', '-r', 'baton');
      for (const gone of ['usr/bin/baton-tray', 'usr/bin/baton', 'opt/Baton', 'usr/lib/systemd/system/baton-helper.socket', 'etc/systemd/system/sockets.target.wants/baton-helper.socket', 'etc/systemd/system/multi-user.target.wants/baton-helper.service']) {
        expect(existsSync(path(gone)) || isLink(path(gone)), gone).toBe(false);
      }
      expect(existsSync(path('var/lib/baton/history.jsonl'))).toBe(true);
      expect(existsSync(path('etc/baton/baton.yaml'))).toBe(true);
      inRoot('dpkg', '--purge', 'baton');
      expect(existsSync(path('etc/baton/baton.yaml'))).toBe(false);
      expect(existsSync(path('var/lib/baton/history.jsonl'))).toBe(true);
      const query = spawnSync('chroot', [chrootDir, 'dpkg-query', '-W', 'baton'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
      expect(query.status).toBe(1);
      expect(query.stderr).toMatch(/no packages found matching baton/);
    });
  });

  it('rpm -qlp lists the same files as the deb; its scriptlets enable and disable the units', () => {
    const rpmFiles = new Set(run('rpm', ['-qlp', rpm]).trim().split('\n'));
    const debFiles = run('dpkg-deb', ['-c', deb]).trim().split('\n').filter((l) => !l.startsWith('d')).map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, '').replace(/ -> .*$/, ''));
    expect(debFiles.length).toBeGreaterThan(EXPECTED_FILES.length);
    for (const f of debFiles) expect(rpmFiles.has(f), f).toBe(true);
    for (const f of EXPECTED_FILES) expect(rpmFiles.has(f), f).toBe(true);
    const scripts = run('rpm', ['-qp', '--scripts', rpm]);
    expect(scripts).toMatch(/postinstall scriptlet[\s\S]*systemctl enable baton-helper.socket/);
    expect(scripts).toMatch(/preuninstall scriptlet[\s\S]*systemctl disable baton-helper.socket/);
    expect(run('rpm', ['-qp', '--configfiles', rpm]).trim()).toBe('/etc/baton/baton.yaml');
    expect(run('rpm', ['-qp', '--requires', rpm])).toMatch(/^systemd$/m);
  });
});

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
