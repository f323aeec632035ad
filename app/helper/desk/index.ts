// The desk of a running helper: a DeskFeed over the helper service's own host, history and config.
import { dirname } from 'node:path';
import type { BatonConfig } from '../../domain/config/index.js';
import type { BatonService } from '../../domain/switch/service.js';
import { HelperService } from '../engine/service.js';
import { DeskFeed } from './feed.js';

export { DeskFeed, deskHistoryEntry, type DeskFeedDeps, type DeskHistory } from './feed.js';
export type { DeskSource, DeskHistoryFilter } from './source.js';

export interface DeskOptions {
  /** The file the config came from; null for the simulated workstation's built-in config. */
  configFile: string | null;
  version: string;
  simulated: boolean;
  log?: (line: string) => void;
}

/** The desk for a helper service; undefined for a service that is not the helper's own (a test double). */
export function createDesk(service: BatonService, config: BatonConfig, options: DeskOptions): DeskFeed | undefined {
  if (!(service instanceof HelperService)) return undefined;
  const { host, history } = service.deskSources;
  return new DeskFeed({
    service,
    host,
    history,
    config,
    configFile: options.configFile,
    // The helper's state folder (beside its journal), which only root can write.
    stateDir: dirname(config.helper.journal),
    helper: { version: options.version, simulated: options.simulated },
    ...(options.log ? { log: options.log } : {}),
  });
}
