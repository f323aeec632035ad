// `baton gpu claim|release ADDR`: the host side of a switch, run by root for admins and tests.
// The same code runs in the helper.
import type { Command } from 'commander';
import { configuredGpu, policyFrom } from '../../domain/handoff/policy.js';
import { parsePciAddress, type PciAddress } from '../../domain/pci-address.js';
import { claimGpu, findGpu } from '../../host/handoff/claim.js';
import { handoffContext, type HandoffContext } from '../../host/handoff/context.js';
import { HandoffFailed, HandoffRefused } from '../../host/handoff/errors.js';
import { releaseGpu } from '../../host/handoff/release.js';
import { ChildKernelWriter } from '../../host/kernel/kernel-writer.js';
import { RESET_METHODS, ResetFailed, resetGpu, type ResetMethod } from '../../host/reset/reset.js';
import { checkViability } from '../../host/vfio/viability.js';
import type { BatonConfig } from '../../domain/config/index.js';
import { describeHolder, probeStateFolder, stateFolderOf } from '../../helper/daemon/instance-lock.js';
import { loadOptionalConfig } from '../config-option.js';
import { printJson, printLines, UsageError, UserError } from '../output.js';

interface GpuOptions {
  json?: boolean;
  sysfs: string;
  config?: string;
  stateDir: string;
  deadline: string;
}

export function parseAddressArg(text: string): PciAddress {
  const address = parsePciAddress(text);
  if (!address) throw new UsageError(`${JSON.stringify(text)} is not a PCI address (expected DDDD:BB:DD.F, e.g. 0000:01:00.0)`);
  return address;
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--json', 'print the result as JSON')
    .option('--sysfs <dir>', 'sysfs root', '/sys')
    .option('--config <file>', 'config with the consent for movable peers, boot VGA and module loading')
    .option('--state-dir <dir>', 'where the original drivers are remembered', '/var/lib/baton')
    .option('--deadline <ms>', 'deadline for each kernel write', '10000');
}

async function withContext<T>(opts: GpuOptions, run: (ctx: HandoffContext) => Promise<T>): Promise<T> {
  const deadline = Number(opts.deadline);
  if (!Number.isInteger(deadline) || deadline <= 0) throw new UserError(`--deadline ${opts.deadline}: expected milliseconds, a positive whole number`);
  const writer = new ChildKernelWriter(deadline);
  const ctx = handoffContext({ sysfsRoot: opts.sysfs, stateDir: opts.stateDir, writer, writeDeadlineMs: deadline });
  try {
    return await run(ctx);
  } catch (err) {
    if (err instanceof HandoffRefused) throw new UserError(`cannot hand over ${err.address}:`, err.reasons);
    if (err instanceof HandoffFailed) {
      const details = [`step: ${err.step}`, `error: ${err.cause.message}`];
      if (err.rolledBack.length) details.push(`rolled back: ${err.rolledBack.join('; ')}`);
      if (err.rollbackErrors.length) details.push(`NOT rolled back: ${err.rollbackErrors.join('; ')}`);
      throw new UserError(`${err.address}: ${err.step} failed`, details);
    }
    if (err instanceof ResetFailed) throw new UserError(err.message);
    throw err;
  } finally {
    writer.close();
    ctx.vgaLocks.close();
  }
}

/**
 * Refuses to move a GPU the helper manages while the helper runs (it holds its state folder's
 * lock); otherwise holds that lock shared until the caller is done, so no helper starts meanwhile.
 * Returns the way to let go.
 */
export function guardAgainstHelper(ctx: HandoffContext, address: PciAddress, config: BatonConfig | null, stateDir: string): () => void {
  const probe = probeStateFolder(config ? stateFolderOf(config) : stateDir);
  if (!probe.holder) return probe.release;
  const who = `the Baton helper${describeHolder(probe.holder)} is running`;
  if (!config) {
    throw new UserError(`${address}: ${who}, and without its config there is no telling whether it manages this GPU`, [
      'move a GPU the helper manages with: baton switch GPU TARGET',
      'or name the helper\'s config with --config (or stop the helper: systemctl stop baton-helper)',
    ]);
  }
  const entry = configuredGpu(config.gpus, findGpu(ctx, address));
  if (!entry) return () => {};
  throw new UserError(`${address}: ${who} and manages this GPU (${entry.name}); moving it behind the helper's back would leave its registry wrong`, [
    `use: baton switch ${entry.name} TARGET   (TARGET: a VM, host or park)`,
    'or stop the helper first: systemctl stop baton-helper',
  ]);
}

export function registerGpu(program: Command): void {
  const gpu = program.command('gpu').description('move a GPU between the host drivers and vfio-pci (root)');

  withCommon(gpu.command('claim <address>').description('give every function of the GPU to vfio-pci')).action(async (text: string, opts: GpuOptions) => {
    const address = parseAddressArg(text);
    const config = loadOptionalConfig(opts.config);
    const result = await withContext(opts, (ctx) => {
      const done = guardAgainstHelper(ctx, address, config, opts.stateDir);
      const entry = config ? configuredGpu(config.gpus, findGpu(ctx, address)) : undefined;
      return claimGpu(ctx, address, policyFrom(entry)).finally(done);
    });
    if (opts.json) return printJson({ ok: true, ...result });
    printLines([
      `${result.gpu}: on vfio-pci (IOMMU group ${result.group ?? 'none'}) in ${result.ms} ms`,
      ...result.functions.map((f) => `  ${f.address}: ${f.from ?? 'no driver'} → ${f.to} (${f.ms} ms)`),
      ...(result.viability?.ioctl ? [`  group viable: ${result.viability.ioctl.viable ? 'yes' : 'no'} (kernel), ${result.viability.sysfs.viable ? 'yes' : 'no'} (sysfs)`] : []),
    ]);
  });

  withCommon(gpu.command('release <address>').description('give every function of the GPU back to its host driver, function 0 first')).action(async (text: string, opts: GpuOptions) => {
    const address = parseAddressArg(text);
    const config = loadOptionalConfig(opts.config);
    const result = await withContext(opts, (ctx) => {
      const done = guardAgainstHelper(ctx, address, config, opts.stateDir);
      const entry = config ? configuredGpu(config.gpus, findGpu(ctx, address)) : undefined;
      return releaseGpu(ctx, address, policyFrom(entry)).finally(done);
    });
    if (opts.json) return printJson({ ok: true, ...result });
    printLines([
      `${result.gpu}: back on the host in ${result.ms} ms`,
      ...result.functions.map((f) => `  ${f.address}: ${f.from ?? 'no driver'} → ${f.to ?? 'no driver'}`),
      ...result.consoleErrors.map((e) => `  console not restored: ${e}`),
    ]);
  });

  withCommon(gpu.command('reset <address>').description('reset the GPU and check that it answers afterwards'))
    .option('--method <method>', `auto, flr, pm, bus, device_specific or hot_reset (default: the config's, else auto)`)
    .action(async (text: string, opts: GpuOptions & { method?: string }) => {
      const address = parseAddressArg(text);
      const config = loadOptionalConfig(opts.config);
      if (opts.method !== undefined && !(RESET_METHODS as readonly string[]).includes(opts.method)) {
        throw new UserError(`--method ${opts.method}: expected one of ${RESET_METHODS.join(', ')}`);
      }
      const result = await withContext(opts, (ctx) => {
        const done = guardAgainstHelper(ctx, address, config, opts.stateDir);
        const entry = config ? configuredGpu(config.gpus, findGpu(ctx, address)) : undefined;
        return resetGpu(ctx, address, (opts.method as ResetMethod | undefined) ?? entry?.reset ?? 'auto').finally(done);
      });
      if (opts.json) return printJson({ ok: true, ...result });
      printLines([`${result.gpu}: reset in ${result.ms} ms`, ...result.resets.map((r) => `  ${r.address}: ${r.method} in ${r.ms} ms, answers as vendor ${r.vendorAfter}`)]);
    });

  gpu.command('viability <address>')
    .description("whether the GPU's IOMMU group is viable for VFIO: the kernel's answer (VFIO_GROUP_GET_STATUS) and the sysfs rule; exit 1 when not viable or they disagree")
    .option('--json', 'print the result as JSON')
    .option('--sysfs <dir>', 'sysfs root', '/sys')
    .action(async (text: string, opts: { json?: boolean; sysfs: string }) => {
      const address = parseAddressArg(text);
      const result = await withContext({ ...opts, stateDir: '/var/lib/baton', deadline: '10000' }, async (ctx) => {
        const gpu = findGpu(ctx, address);
        if (gpu.iommuGroup === null) throw new HandoffRefused(gpu.address, [`${gpu.address} has no IOMMU group: the IOMMU is off or does not cover this device`]);
        return { gpu: gpu.address, ...checkViability(ctx.sysfs, gpu.iommuGroup, ctx.devVfio) };
      });
      const viable = result.sysfs.viable && result.agree !== false;
      if (!viable) process.exitCode = 1;
      if (opts.json) return printJson({ ok: viable, ...result });
      printLines([
        `${result.gpu}: IOMMU group ${result.group} is ${viable ? 'viable' : 'not viable'}`,
        `  sysfs rule: ${result.sysfs.viable ? 'viable' : `not viable (${result.sysfs.blockers.join('; ')})`}`,
        `  kernel: ${result.ioctl ? `${result.ioctl.viable ? 'viable' : 'not viable'}${result.ioctl.containerSet ? ', container set' : ''}` : `not asked: ${result.ioctlError}`}`,
        ...(result.agree === false ? ['  the kernel and the sysfs rule disagree: Baton\'s picture of the group is wrong'] : []),
      ]);
    });
}
