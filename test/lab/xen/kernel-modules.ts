// Orders kernel modules for busybox insmod: the unpacked kernel has no modules.dep (depmod never
// ran), so dependencies are read from each module's own .modinfo "depends=" entry.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Module names use '-' and '_' interchangeably. */
const normalize = (name: string): string => name.replace(/-/g, '_');

function indexModules(modulesDir: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ko')) index.set(normalize(entry.name.slice(0, -3)), path);
    }
  };
  walk(join(modulesDir, 'kernel'));
  return index;
}

function dependsOf(koPath: string): string[] {
  const text = readFileSync(koPath).toString('latin1');
  const m = /\0depends=([^\0]*)\0/.exec(text);
  return m?.[1] ? m[1].split(',').filter(Boolean) : [];
}

/** The .ko files for `names` and everything they depend on, dependencies first. */
export function modulesInLoadOrder(modulesDir: string, names: string[]): string[] {
  const index = indexModules(modulesDir);
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const key = normalize(name);
    if (seen.has(key)) return;
    seen.add(key);
    const path = index.get(key);
    if (!path) throw new Error(`kernel module ${name} not found under ${modulesDir}`);
    for (const dep of dependsOf(path)) visit(dep);
    ordered.push(path);
  };
  for (const name of names) visit(name);
  return ordered;
}
