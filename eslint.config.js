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
  'app/cli': ['app/domain', 'app/protocol', 'native', 'app/host', 'app/backends', 'app/helper'],
  // Electron main and the renderer never touch the host: only the domain and the protocol.
  'app/main': ['app/domain', 'app/protocol'],
  'renderer': ['app/domain', 'app/protocol'],
};
const all = Object.keys(layers);

// Forbid a relative import that lands in a layer not on the allowlist.
function layerRule(layer) {
  const depth = layer.split('/').length;
  const forbidden = all.filter((l) => l !== layer && !layers[layer].includes(l));
  const group = [];
  for (const target of forbidden) {
    // any number of ../ that climbs to the repository root, then the target folder
    for (let up = depth; up <= depth + 4; up++) group.push(`${'../'.repeat(up)}${target}/**`, `${'../'.repeat(up)}${target}`);
  }
  return {
    files: [`${layer}/**/*.{ts,tsx}`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group, message: `layering: ${layer} may import only ${layers[layer].join(', ') || 'itself'}` }],
        ...(layer === 'app/main' ? {} : { paths: [{ name: 'electron', message: `layering: only app/main may import electron` }] }),
      }],
    },
  };
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
  ...all.map(layerRule),
);
