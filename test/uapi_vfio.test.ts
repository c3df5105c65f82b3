import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';

const s = suite('uapi/vfio');

s('_IO is (type << 8) | nr', () => {
  assert.is(u.VFIO_TYPE, 0x3b);
  assert.is(u.VFIO_BASE, 100);
  assert.is(u._IO(';', 100 + 12), 0x3b70);
  assert.is(u._IO(0x3b, 100 + 22), 0x3b7a);
  assert.throws(() => u._IO(256, 0), RangeError);
  assert.throws(() => u._IO(';', 256), RangeError);
  assert.throws(() => u._IO('ab', 1), RangeError);
});

s('ioctl numbers', () => {
  assert.is(u.VFIO_GET_API_VERSION, 0x3b64);
  assert.is(u.VFIO_CHECK_EXTENSION, 0x3b65);
  assert.is(u.VFIO_SET_IOMMU, 0x3b66);
  assert.is(u.VFIO_GROUP_GET_STATUS, 0x3b67);
  assert.is(u.VFIO_GROUP_SET_CONTAINER, 0x3b68);
  assert.is(u.VFIO_GROUP_UNSET_CONTAINER, 0x3b69);
  assert.is(u.VFIO_GROUP_GET_DEVICE_FD, 0x3b6a);
  assert.is(u.VFIO_IOMMU_GET_INFO, 0x3b70);
  assert.is(u.VFIO_IOMMU_MAP_DMA, 0x3b71);
  assert.is(u.VFIO_IOMMU_UNMAP_DMA, 0x3b72);
  assert.is(u.VFIO_IOMMU_PASID_REQUEST, 0x3b7a);
  assert.is(u.VFIO_IOMMU_PASID_REQUEST_V7, 0x3b76);
});

s('PASID request flags', () => {
  assert.is(u.VFIO_IOMMU_PASID_ALLOC, 1);
  assert.is(u.VFIO_IOMMU_PASID_FREE, 2);
  assert.is(u.VFIO_IOMMU_FLAG_ALLOC_PASID, 1);
  assert.is(u.VFIO_IOMMU_FLAG_FREE_PASID, 2);
  assert.is(u.VFIO_PASID_REQUEST_MASK, 3);
});

s('IOMMU types, both directions', () => {
  assert.is(u.VFIO_TYPE1_IOMMU, 1);
  assert.is(u.VFIO_SPAPR_TCE_IOMMU, 2);
  assert.is(u.VFIO_TYPE1v2_IOMMU, 3);
  assert.is(u.VFIO_TYPE1_NESTING_IOMMU, 6);
  assert.is(u.VFIO_SPAPR_TCE_v2_IOMMU, 7);
  assert.is(u.VFIO_NOIOMMU_IOMMU, 8);
  assert.is(u.vfioIommuTypeName(6), 'VFIO_TYPE1_NESTING_IOMMU');
  assert.is(u.vfioIommuTypeName(4), undefined);
  assert.is(u.vfioIommuTypeValue('VFIO_TYPE1v2_IOMMU'), 3);
  assert.is(u.vfioIommuTypeValue('toString'), undefined);
  for (const [name, value] of Object.entries(u.VFIO_IOMMU_TYPES)) {
    assert.is(u.vfioIommuTypeName(value), name);
    assert.is(u.vfioIommuTypeValue(name), value);
  }
});

s('PASID width', () => {
  assert.is(u.PASID_BITS_DEFAULT, 20);
  assert.is(u.PASID_MAX, 0xfffff);
});

s.run();
