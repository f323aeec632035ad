export { QmpBackend, type QmpBackendOptions, type QmpVmConfig } from './backend.js';
export { QmpClient, type QmpClientOptions, type ExecuteOptions } from './client.js';
export { QemuProcess, launchQemu, type LaunchOptions, type QemuExit } from './qemu-process.js';
export { gpuDeviceId, hostAddressFromDeviceId, guestPciAddr } from './device-ids.js';
export { flattenPciTree, parseQueryPci, type GuestPciFunction } from './pci-tree.js';
export { parseQmpMessage, type QmpEvent, type QmpGreeting, type QmpMessage } from './messages.js';
