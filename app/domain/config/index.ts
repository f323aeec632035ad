// The Baton configuration: schema, parser with positions, and lookups. Pure: no file access.
export { parseConfig, formatConfigError, type ConfigError, type ConfigParseResult } from './parse.js';
export {
  configSchema,
  DEFAULT_CONFIG_PATH,
  RESERVED_TARGETS,
  RESET_METHODS,
  BACKENDS,
  RELEASE_METHODS,
  ACQUIRE_METHODS,
  type BatonConfig,
  type GpuConfig,
  type GpuMatch,
  type VbiosSource,
  type VmConfig,
  type MonitorConfig,
  type ShortcutConfig,
  type HelperConfig,
  type ResetMethod,
  type Backend,
} from './schema.js';
export * from './lookup.js';
export { inputDevicePath, RETURN_ACTIONS, type InputsConfig, type InputDeviceConfig, type ReturnAction } from './inputs.js';
