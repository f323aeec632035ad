// Fetches and prepares what the labs boot (kernel, modules.dep, initrd, Xen) ahead of the tests:
// run by test/lab/setup.sh so a CI job downloads before, not during, the lab suites.
import { fetchXenArtifacts } from '../xen/artifacts.js';
import { buildInitrd } from './initrd.js';
import { prepareLabKernel } from './kernel.js';

const kernel = prepareLabKernel();
const initrd = buildInitrd(kernel);
const xen = fetchXenArtifacts();
process.stdout.write(`lab kernel ${kernel.version}: ${kernel.vmlinuz}\nlab initrd: ${initrd}\nXen: ${xen.hypervisor}\n`);
