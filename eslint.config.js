// Lint, including the layering rule: each layer may import only the layers below it.
// Layers (lowest first): domain ← native, host, backends ← helper ← cli, main, renderer.
// protocol (helper protocol + IPC schema) sits on domain and is shared by helper and clients.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const layers = {
  'app/domain': [],
  'app/protocol': ['app/domain'],
  'native': ['app/domain'],
  'app/host': ['app/domain', 'native'],
  'app/backends': ['app/domain', 'native'],
  'app/helper': ['app/domain', 'app/protocol', 'native', 'app/host', 'app/backends'],
  // The root CLI runs the same host code as the helper, so it may reach down to it.
  'app/cli': ['app/domain', 'app/protocol', 'native', 'app/host', 'app/backends', 'app/helper', 'app/ui'],
  // Electron main and the renderer never touch the host: only the domain and the protocol.
  // `baton ui` runs as the user and, like Electron main, reaches the helper only through the protocol.
  'app/ui': ['app/domain', 'app/protocol'],
  'app/main': ['app/domain', 'app/protocol'],
  'renderer': ['app/domain', 'app/protocol'],
};
const all = Object.keys(layers);

// Forbid a relative import that lands in a layer not on the allowlist. no-restricted-imports
// matches the import text, not the resolved file, so each folder depth inside a layer gets its own
// patterns: the ../ count that climbs to the repository root, and, between two layers under app/,
// the shorter one that climbs only to app/ ("../host/x.js" from app/main/a.ts).
const MAX_DEPTH = 5;
function forbiddenPatterns(layer, depthInLayer) {
  const up = layer.split('/').length + depthInLayer;
  const group = [];
  for (const target of all.filter((l) => l !== layer && !layers[layer].includes(l))) {
    for (const text of [`${'../'.repeat(up)}${target}`, ...(layer.startsWith('app/') && target.startsWith('app/') ? [`${'../'.repeat(up - 1)}${target.slice(4)}`] : [])]) {
      group.push(text, `${text}/**`);
    }
  }
  return [{ group, message: `layering: ${layer} may import only ${layers[layer].join(', ') || 'itself'}` }];
}

// Inside app/main only the composition root (electron/) and the preload entry hold Electron's
// objects; every controller sees ports, so it runs in tests without Electron.
const ELECTRON_ROOTS = ['app/main/electron/**', 'app/main/preload/preload.ts', 'app/main/index.ts'];

function layerRule(layer) {
  const configs = [];
  for (let d = 0; d <= MAX_DEPTH; d++) {
    const files = [`${layer}/${'*/'.repeat(d)}*.{ts,tsx}`];
    const patterns = forbiddenPatterns(layer, d);
    const rule = (paths, extra = []) => ({ 'no-restricted-imports': ['error', { patterns: [...patterns, ...extra], ...(paths && { paths }) }] });
    if (layer !== 'app/main') {
      configs.push({ files, rules: rule([{ name: 'electron', message: 'layering: only app/main may import electron' }]) });
      continue;
    }
    configs.push(
      { files, ignores: ELECTRON_ROOTS, rules: rule(
        [{ name: 'electron', message: 'layering: in app/main only electron/ and preload/preload.ts may import electron (controllers get ports)' }],
        [{ group: ['**/electron/main.js', '**/electron/adapters.js', '**/preload/preload.js'], message: 'layering: the composition root is imported by no one' }],
      ) },
    );
    // The roots sit one folder down (electron/main.ts, preload/preload.ts): the layer rule alone.
    if (d === 1) configs.push({ files: ['app/main/electron/*.ts', 'app/main/preload/preload.ts'], rules: rule(null) });
  }
  return configs.filter((c) => c.files.length);
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'test/lab/out/**', 'renderer/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The renderer runs in a browser (or Electron's sandboxed renderer): browser globals, JSX, no Node.
  {
    files: ['renderer/**/*.{ts,tsx}', 'test/unit/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser }, parserOptions: { ecmaFeatures: { jsx: true } } },
  },
  ...all.flatMap(layerRule),
  // Tests drive main's controllers through their ports, never through Electron.
  { files: ['test/**/*.ts'], rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'tests use the ports of app/main, not electron' }] }] } },
);
