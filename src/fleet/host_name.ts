import { hostname } from 'node:os';
import { FleetError } from './errors.js';

const HOST_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$/;

/**
 * A host's name in the fleet store: 1 to 253 characters, letters, digits and `._:@-`,
 * starting with a letter or digit (no spaces, no control characters). Defaults to this
 * machine's hostname.
 *
 * @throws FleetError for a name outside that alphabet.
 * @example
 * hostName('node-0042.rack7'); // 'node-0042.rack7'
 */
export function hostName(name?: string): string {
  const n = name ?? hostname();
  if (!HOST_RE.test(n)) throw new FleetError(`host name ${JSON.stringify(n.slice(0, 80))} is not allowed: use 1-253 letters, digits and . _ : @ - (starting with a letter or digit)`);
  return n;
}
