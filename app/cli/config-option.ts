// The --config option of commands that work without a config but take the user's consent from one.
import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, formatConfigError, type BatonConfig } from '../domain/config/index.js';
import { ConfigReadError, loadConfigFile } from '../host/config/load.js';
import { UserError } from './output.js';

/** The config named by --config, else the default file when it exists, else none. */
export function loadOptionalConfig(path: string | undefined): BatonConfig | null {
  const file = path ?? (existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : null);
  if (!file) return null;
  try {
    const result = loadConfigFile(file);
    if (result.ok) return result.config;
    throw new UserError(`${file} has errors (baton config check ${file}):`, result.errors.map(formatConfigError));
  } catch (err) {
    if (err instanceof ConfigReadError) throw new UserError(err.message);
    throw err;
  }
}
