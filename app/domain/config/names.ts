// Fixed names of the config: targets, owner states, methods and backends. No zod here: the protocol
// and the CLI's client commands import these without building the config schema (~100 ms at start).
export const DEFAULT_CONFIG_PATH = '/etc/baton/baton.yaml';

/** Targets that are not VMs; no VM may take these names. */
export const RESERVED_TARGETS = ['host', 'park'] as const;
/** A shortcut's target that moves its GPU on to the next one (the tray app resolves it); no VM may take it either. */
export const CYCLE_TARGET = 'cycle';
/** Owner states that status and the registry show in place of a VM name: a VM may not be called so. */
export const OWNER_STATE_NAMES = ['lost', 'wedged', 'absent', 'unknown'] as const;

export const RESET_METHODS = ['auto', 'flr', 'pm', 'bus', 'device_specific', 'hot_reset'] as const;
export const BACKENDS = ['qmp', 'libvirt', 'xen'] as const;
export const RELEASE_METHODS = ['hot-unplug', 'shutdown', 'force-detach'] as const;
export const ACQUIRE_METHODS = ['hot-plug', 'start'] as const;
