export { vmMachine, vmGuards } from './vm.js';
export { containerMachine, containerGuards } from './container.js';
export { groupMachine, groupGuards } from './group.js';
export { vfioMmMachine, vfioMmGuards } from './vfio_mm.js';
export { pasidMachine, pasidGuards } from './pasid.js';
export { moduleParamMachine, moduleParamGuards } from './module_param.js';
export { deviceMachine, deviceGuards } from './device.js';
export { viommuMachine, viommuGuards } from './viommu.js';
