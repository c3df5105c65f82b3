import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as u from '../src/uapi/index.js';

const s = suite('uapi/errno');

s('values match asm-generic/errno-base.h and errno.h', () => {
  const expected: Record<string, number> = {
    EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11,
    ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22,
    ENFILE: 23, EMFILE: 24, ENOTTY: 25, ENOSPC: 28, ERANGE: 34, ENOSYS: 38, EOVERFLOW: 75,
    EOPNOTSUPP: 95, ETIMEDOUT: 110, ENOTSUPP: 524,
  };
  assert.equal({ ...u.ERRNO }, expected);
  assert.is(u.EFAULT, 14);
  assert.is(u.EINVAL, 22);
  assert.is(u.EOPNOTSUPP, 95);
});

s('errnoName takes positive or negative values', () => {
  assert.is(u.errnoName(14), 'EFAULT');
  assert.is(u.errnoName(-14), 'EFAULT');
  assert.is(u.errnoName(-22), 'EINVAL');
  assert.is(u.errnoName(95), 'EOPNOTSUPP');
  assert.is(u.errnoName(-524), 'ENOTSUPP');
});

s('errnoName of an unknown value', () => {
  assert.is(u.errnoName(999), 'E?999');
  assert.is(u.errnoName(-999), 'E?999');
  assert.is(u.errnoName(0), 'E?0');
  assert.is(u.errnoName(1.5), 'E?1.5');
  assert.is(u.errnoName(Number.NaN), 'E?NaN');
});

s('errnoValue of names and aliases', () => {
  assert.is(u.errnoValue('ENOSPC'), 28);
  assert.is(u.errnoValue('EWOULDBLOCK'), 11);
  assert.is(u.errnoValue('ENOTSUP'), 95);
  assert.is(u.errnoValue('efault'), undefined);
  assert.is(u.errnoValue('constructor'), undefined);
  assert.is(u.errnoValue('__proto__'), undefined);
});

s('every name round-trips', () => {
  for (const [name, value] of Object.entries(u.ERRNO)) {
    assert.is(u.errnoName(value), name);
    assert.is(u.errnoName(-value), name);
    assert.is(u.errnoValue(name), value);
  }
});

s.run();
