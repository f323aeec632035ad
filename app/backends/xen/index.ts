export { XenBackend, type XenBackendOptions, type XenVmConfig, type XenBackendObservation } from './backend.js';
export {
  XenFormatError, XENBUS_STATES, describePciBackend, parseAssignableList, parseXenstoreLs, parseXlList, parseXlListLong, parseXlPciList,
  pciBackendFromEntries, pciBackendPath, pciBackendsFromEntries, vmStateFromFlags, xenbusState,
  type AssignableDevice, type PciBackendDevice, type PciBackendState, type XenbusState, type XenbusStateName, type XlDomain,
  type XlDomainConfig, type XlPciListEntry,
} from './parsers.js';
export { backendNotReady, mapXlError, runTool, xlMessages, type ToolFailure, type ToolOptions, type ToolRun } from './xl.js';
