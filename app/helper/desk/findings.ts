// What the settings view lists about the config: errors in the file as it is on disk now (the helper
// keeps running on what it loaded, and would refuse the file at its next start), and places where the
// config and the machine disagree, each at FILE:LINE:COL when the config came from a file.
import { connectorsOfGpu, type BatonConfig } from '../../domain/config/index.js';
import { configLocator, formatPath, type PathSegment } from '../../domain/config/positions.js';
import type { DeskFinding, DeskGpu, DeskMonitor } from '../../protocol/desk.js';
import { ConfigReadError, loadConfigFile, readConfigText } from '../../host/config/load.js';

export interface FileFindings {
  /** Errors of the file on disk; empty when it parses. */
  errors: DeskFinding[];
  /** FILE:LINE:COL of a config path, when the file can be read. */
  locate(path: PathSegment[]): Pick<DeskFinding, 'file' | 'line' | 'col'>;
}

const nowhere = { file: null, line: null, col: null };

/** Reads the config file again (it is small) and reports what is wrong with it now. */
export function checkConfigFile(file: string | null): FileFindings {
  if (file === null) return { errors: [], locate: () => nowhere };
  let text: string;
  try {
    text = readConfigText(file);
  } catch (err) {
    const message = err instanceof ConfigReadError ? err.message : (err as Error).message;
    return { errors: [{ severity: 'error', file, line: null, col: null, path: '', message: `${message} (the helper keeps the config it loaded)` }], locate: () => ({ ...nowhere, file }) };
  }
  const result = loadConfigFile(file);
  const errors: DeskFinding[] = result.ok
    ? []
    : result.errors.map((e) => ({ severity: 'error', file: e.file, line: e.line, col: e.col, path: e.path, message: `${e.message} (in the file on disk; the helper keeps the config it loaded until it restarts)` }));
  const at = configLocator(text);
  return { errors, locate: (path) => ({ file, ...at(path) }) };
}

/** Where the config names things the machine does not show. */
export function machineFindings(config: BatonConfig, gpus: readonly DeskGpu[], monitors: readonly DeskMonitor[], file: FileFindings): DeskFinding[] {
  const findings: DeskFinding[] = [];
  const warn = (path: PathSegment[], message: string) =>
    findings.push({ severity: 'warning', ...file.locate(path), path: formatPath(path), message });
  config.gpus.forEach((gc, i) => {
    const gpu = gpus.find((g) => g.name === gc.name);
    if (gpu && !gpu.present) warn(['gpus', i, 'match'], `GPU ${gc.name} is not on the PCI bus (the config finds it by ${gpu.match})`);
    if (!gpu?.present || gpu.owner !== 'host') return;
    for (const connector of connectorsOfGpu(config, gc.name)) {
      const seen = monitors.find((m) => m.connector === connector);
      if (seen?.presence === 'configured') {
        const at = config.monitors.findIndex((m) => m.connector === connector);
        warn(at >= 0 ? ['monitors', at, 'connector'] : ['gpus', i, 'monitors'], `${connector} is not connected to ${gc.name} (the host has the GPU, and its driver shows no such monitor)`);
      }
    }
  });
  return findings;
}
