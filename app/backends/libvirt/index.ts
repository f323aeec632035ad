export { LibvirtBackend, type LibvirtBackendOptions, type LibvirtVmConfig } from './backend.js';
export { parseDomainXml, freeRootPorts, DomainXmlError, type DomainFacts, type PciHostdev, type GuestPciAddress, type RootPort } from './domain-xml.js';
export { parseDomstate, DomstateFormatError } from './domstate.js';
export { parseEventLine, type DomainEvent } from './event-lines.js';
export { gpuAlias, gpuFunctions, guestBusNumber, hostdevXml, placeGpu, type GpuLayout, type PlacedHostdev } from './gpu-devices.js';
export { plugDevices, unplugAndConfirm, domainFacts, type DomainHandle, type DeviceToPlug, type DeviceToUnplug } from './device-plug.js';
export { runVirsh, type VirshTarget, type VirshOptions } from './virsh.js';
export { mapVirshError, virshErrorLines } from './virsh-errors.js';
export { parseXml, escapeXml, XmlSyntaxError, type XmlElement } from './xml.js';
