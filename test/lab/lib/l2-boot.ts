// How the nested-VM suites boot L1: the lab's default, plus no_timer_check. On a loaded machine
// TCG can miss the kernel's early check that the timer interrupt arrives through the
// interrupt-remapped IO-APIC, and the kernel panics ("timer doesn't work through
// Interrupt-remapped IO-APIC") before anything runs; the check proves nothing about the lab.
import type { L1Job } from './l1.js';
import { DEFAULT_APPEND } from './l1.js';

export const l1BootUnderLoad: NonNullable<L1Job['boot']> = (kernel, initrd) => ({
  kernelImage: kernel.vmlinuz,
  initrd,
  append: `${DEFAULT_APPEND} no_timer_check`,
});
