import { setup } from 'xstate';

/**
 * A PCI function bound to vfio-pci in an IOMMU group (`struct vfio_pci_device`).
 *
 * `ADD` brings it in with its config space; `CONFIG_WRITE` is a guest write that reached
 * the hardware (a raw write to a region vfio-pci does not virtualise); `REMOVE` unplugs
 * it. A removed function may be added again (hot-plug), with a new config space.
 *
 * @example
 * const s = deviceMachine.resolveState({ value: 'none', context: {} });
 * transition(deviceMachine, s, { type: 'ADD' })[0].value; // 'present'
 */
export const deviceMachine = setup({
  types: {} as { events: { type: 'ADD' } | { type: 'CONFIG_WRITE' } | { type: 'REMOVE' } },
}).createMachine({
  id: 'device',
  initial: 'none',
  states: {
    none: { on: { ADD: 'present' } },
    present: { on: { CONFIG_WRITE: 'present', REMOVE: 'removed' } },
    removed: { on: { ADD: 'present' } },
  },
});

/** The checks on a device, as named pure predicates. */
export const deviceGuards = {
  /** A bdf already present is a second probe of the same function: -EEXIST. */
  isPresent: (state: string | undefined): boolean => state === 'present',
  /**
   * `vfio_config_do_rw`: an access must lie inside the function's config space
   * (256 bytes for conventional PCI, 4096 for PCIe): otherwise -EFAULT.
   */
  inConfigSpace: (offset: number, size: number, cfgSize: number): boolean => offset >= 0 && offset + size <= cfgSize,
  /** `VFIO_GROUP_GET_DEVICE_FD` needs the group in a container whose IOMMU is set: else -EINVAL, and no access. */
  hasDeviceFd: (containerState: string | undefined): boolean => containerState === 'iommu_set',
};
