#!/usr/bin/env node
// A stand-in for fpm (which electron-builder downloads, and Debian does not package), for the
// two targets Baton builds: `-s dir -t deb` with dpkg-deb and `-s dir -t rpm` with rpmbuild.
// electron-builder runs it through CUSTOM_FPM_PATH (scripts/package.mjs). It takes the flags
// electron-builder passes and the `src=dest` mappings, stages them into one tree, and builds the
// package from that tree with the same layout fpm would produce. Unknown flags are an error.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const VALUE_FLAGS = new Set([
  '-s', '-t', '-d', '--architecture', '--after-install', '--after-remove', '--before-remove', '--before-install', '--description', '--version', '--package',
  '--name', '--maintainer', '--vendor', '--url', '--category', '--deb-priority', '--deb-recommends', '--deb-compression', '--rpm-summary', '--rpm-os',
  '--rpm-compression', '--license', '--iteration', '--log', '--config-files',
]);
const SWITCHES = new Set(['--force', '--debug']);

function fail(message) {
  process.stderr.write(`fpm-shim: ${message}\n`);
  process.exit(1);
}

export function parseArgs(argv) {
  const opts = { depends: [], recommends: [], configFiles: [], mappings: [] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    if (eq > 0) [arg, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    if (SWITCHES.has(arg)) continue;
    if (VALUE_FLAGS.has(arg)) {
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) fail(`${arg} needs a value`);
      }
      if (arg === '-d') opts.depends.push(value);
      else if (arg === '--deb-recommends') opts.recommends.push(value);
      else if (arg === '--config-files') opts.configFiles.push(value);
      else opts[arg.replace(/^-+/, '')] = value;
      continue;
    }
    if (arg.startsWith('-')) fail(`unsupported flag ${arg}`);
    const at = argv[i].indexOf('=');
    if (at <= 0) fail(`expected SRC=DEST, got ${JSON.stringify(argv[i])}`);
    opts.mappings.push({ src: argv[i].slice(0, at), dest: argv[i].slice(at + 1) });
  }
  for (const need of ['s', 't', 'name', 'version', 'package', 'architecture']) if (!opts[need]) fail(`missing ${need.length === 1 ? '-' : '--'}${need}`);
  if (opts.s !== 'dir') fail(`only -s dir is supported, not ${opts.s}`);
  if (opts.t !== 'deb' && opts.t !== 'rpm') fail(`only -t deb and -t rpm are supported, not ${opts.t}`);
  return opts;
}

/** Copies every mapping into `root`: a source ending in / copies its contents into dest. */
export function stage(mappings, root) {
  for (const { src, dest } of mappings) {
    if (!existsSync(src)) fail(`no such file: ${src} (for ${dest})`);
    const target = join(root, dest);
    if (src.endsWith('/') || statSync(src).isDirectory()) {
      mkdirSync(target, { recursive: true });
      cpSync(src, target, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    } else {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(src, target);
      chmodSync(target, statSync(src).mode & 0o7777);
    }
  }
}

function walk(root, dir = root, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    out.push({ path: `/${relative(root, path)}`, dir: st.isDirectory(), size: st.size });
    if (st.isDirectory()) walk(root, path, out);
  }
  return out;
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited ${r.status}`);
}

function script(file) {
  return file ? readFileSync(file, 'utf8') : null;
}

function buildDeb(opts, stageDir) {
  const debian = join(stageDir, 'DEBIAN');
  mkdirSync(debian);
  const installedKb = Math.ceil(walk(stageDir).filter((f) => !f.dir).reduce((n, f) => n + f.size, 0) / 1024);
  const [synopsis, ...rest] = (opts.description ?? opts.name).split('\n');
  const long = rest.map((l) => ` ${l.trim() || '.'}`).join('\n');
  const fields = [
    ['Package', opts.name],
    ['Version', opts.iteration ? `${opts.version}-${opts.iteration}` : opts.version],
    ['Architecture', opts.architecture],
    ['Maintainer', opts.maintainer ?? 'unknown'],
    ['Installed-Size', String(installedKb)],
    ['Depends', opts.depends.join(', ')],
    ['Recommends', opts.recommends.join(', ')],
    ['Section', opts.category ?? 'misc'],
    ['Priority', opts['deb-priority'] ?? 'optional'],
    ['Homepage', opts.url],
    ['Description', `${synopsis.trim()}${long ? `\n${long}` : ''}`],
  ].filter(([, v]) => v);
  writeFileSync(join(debian, 'control'), fields.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
  for (const [flag, name] of [['after-install', 'postinst'], ['before-remove', 'prerm'], ['after-remove', 'postrm'], ['before-install', 'preinst']]) {
    const text = script(opts[flag]);
    if (text === null) continue;
    writeFileSync(join(debian, name), text);
    chmodSync(join(debian, name), 0o755);
  }
  if (opts.configFiles.length) writeFileSync(join(debian, 'conffiles'), opts.configFiles.join('\n') + '\n');
  const compression = opts['deb-compression'] ?? 'xz';
  run('dpkg-deb', ['--root-owner-group', `-Z${compression === 'gz' ? 'gzip' : compression}`, '--build', stageDir, opts.package]);
}

function buildRpm(opts, stageDir) {
  const top = mkdtempSync(join(tmpdir(), 'fpm-shim-rpm-'));
  const files = walk(stageDir);
  // The package owns its own folders (under /opt, /usr/lib/baton, /etc/baton, ...), not the system's.
  const systemDirs = new Set(['/etc', '/etc/xdg', '/etc/xdg/autostart', '/opt', '/usr', '/usr/bin', '/usr/lib', '/usr/lib/systemd', '/usr/lib/systemd/system', '/usr/lib/sysusers.d', '/usr/lib/tmpfiles.d', '/usr/share', '/usr/share/applications', '/usr/share/doc', '/usr/share/icons', '/usr/share/icons/hicolor']);
  const isSystem = (p) => systemDirs.has(p) || /^\/usr\/share\/icons\/hicolor\/[^/]+(\/apps)?$/.test(p);
  const quote = (p) => `"${p.replace(/"/g, '\\"')}"`;
  const list = files
    .filter((f) => !isSystem(f.path))
    .map((f) => (f.dir ? `%dir ${quote(f.path)}` : opts.configFiles.includes(f.path) ? `%config(noreplace) ${quote(f.path)}` : quote(f.path)));
  const arch = opts.architecture === 'amd64' ? 'x86_64' : opts.architecture;
  const [summaryLine] = (opts['rpm-summary'] ?? opts.description ?? opts.name).split('\n');
  const section = (name, flag) => {
    const text = script(opts[flag]);
    return text === null ? '' : `${name}\n${text.replace(/^#!.*\n/, '')}\n`;
  };
  const spec = `%define _build_id_links none
%define debug_package %{nil}
%define __os_install_post %{nil}
%define _binary_payload w6.xzdio
Name: ${opts.name}
Version: ${opts.version.replace(/-/g, '_')}
Release: ${opts.iteration ?? '1'}
Summary: ${summaryLine.trim()}
License: ${opts.license ?? 'unknown'}
${opts.url ? `URL: ${opts.url}\n` : ''}${opts.vendor ? `Vendor: ${opts.vendor}\n` : ''}BuildArch: ${arch}
AutoReqProv: no
${opts.depends.map((d) => `Requires: ${d}`).join('\n')}

%description
${opts.description ?? opts.name}

%install
mkdir -p %{buildroot}
cp -a ${quote(stageDir)}/. %{buildroot}/

${section('%post', 'after-install')}${section('%preun', 'before-remove')}${section('%postun', 'after-remove')}
%files
${list.join('\n')}
`;
  writeFileSync(join(top, 'baton.spec'), spec);
  run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `_rpmdir ${join(top, 'out')}`, '--target', arch, join(top, 'baton.spec')]);
  const built = walk(join(top, 'out')).find((f) => !f.dir && f.path.endsWith('.rpm'));
  if (!built) fail('rpmbuild made no package');
  mkdirSync(dirname(opts.package), { recursive: true });
  renameSync(join(top, 'out', built.path), opts.package);
  rmSync(top, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = parseArgs(process.argv.slice(2));
  const stageDir = mkdtempSync(join(tmpdir(), 'fpm-shim-stage-'));
  // mkdtemp makes 0700; the tree's root becomes the package's "/".
  chmodSync(stageDir, 0o755);
  try {
    stage(opts.mappings, stageDir);
    if (existsSync(opts.package)) rmSync(opts.package);
    if (opts.t === 'deb') buildDeb(opts, stageDir);
    else buildRpm(opts, stageDir);
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}
