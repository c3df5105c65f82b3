/**
 * The kernel's user API as data: errno values, VFIO ioctl numbers and
 * constants, the byte layouts of the PASID request (profiles v1 and v7) and
 * of `VFIO_IOMMU_GET_INFO`, the PCIe PASID capability, and QEMU's VT-d
 * virtual command registers. Imports nothing else of this project.
 *
 * Encoders throw RangeError on values that do not fit their C field (a
 * caller's bug) except the PCI ones, which return null; every decoder and
 * reader returns a value for any input and never reads past its buffer.
 * @example import { decodePasidRequestV1, errnoName } from './uapi/index.js'
 * @module
 */
export * from './errno.js';
export * from './vfio.js';
export * from './pasid_request_v1.js';
export * from './pasid_request_v7.js';
export * from './iommu_info.js';
export * from './pci_pasid_cap.js';
export * from './vtd_vcmd.js';
