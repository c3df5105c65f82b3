import type { HostState } from './state.js';
import type { Request } from './types.js';

/**
 * Who may talk to the PASID server, as the log records it. A token is a bearer
 * secret; the log keeps its id, role, vm and the SHA-256 of the secret, never the
 * secret (a hash of 32 random bytes reveals nothing an attacker can present).
 */
export type TokenRole = 'vmm' | 'admin' | 'auditor';

export const TOKEN_ROLES: readonly TokenRole[] = ['vmm', 'admin', 'auditor'];

/** A grant or a revocation: a `token` entry of the log. */
export type TokenEntry =
  | { seq: number; at: string; type: 'token'; action: 'add'; token: string; role: TokenRole; vm?: string; sha256: string }
  | { seq: number; at: string; type: 'token'; action: 'revoke'; token: string };

/** One token as the book knows it. */
export interface TokenRecord {
  token: string;
  role: TokenRole;
  vm: string | null;
  /** The seq of its grant, and of its revocation (null while valid). */
  added: number;
  revoked: number | null;
  sha256: string;
}

/**
 * The tokens a log granted and revoked, folded from its `token` entries in seq order.
 * Pure: the caller feeds it entries.
 *
 * @example
 * const book = new TokenBook(); book.apply(entry); book.bySha256(hash)?.role; // 'vmm'
 */
export class TokenBook {
  private readonly byId = new Map<string, TokenRecord>();
  private readonly byHash = new Map<string, TokenRecord>();

  /** Folds one token entry in; anything malformed is ignored (the audit flags it). */
  apply(e: Record<string, unknown>): void {
    if (e.type !== 'token' || typeof e.token !== 'string') return;
    if (e.action === 'add' && typeof e.sha256 === 'string' && TOKEN_ROLES.includes(e.role as TokenRole)) {
      const r: TokenRecord = { token: e.token, role: e.role as TokenRole, vm: typeof e.vm === 'string' ? e.vm : null, added: e.seq as number, revoked: null, sha256: e.sha256 };
      this.byId.set(r.token, r);
      this.byHash.set(r.sha256, r);
    } else if (e.action === 'revoke') {
      const r = this.byId.get(e.token);
      if (r && r.revoked === null) r.revoked = e.seq as number;
    }
  }

  /** The valid (granted, not revoked) token whose secret hashes to `sha256`. */
  bySha256(sha256: string): TokenRecord | null {
    const r = this.byHash.get(sha256);
    return r && r.revoked === null ? r : null;
  }

  /** A token by id, revoked or not. */
  get(id: string): TokenRecord | null {
    return this.byId.get(id) ?? null;
  }

  /** Every token, in the order granted. */
  list(): TokenRecord[] {
    return [...this.byId.values()];
  }
}

/**
 * Whether a token bound to a vmm may make this request, against the host its
 * predecessors left. A vmm acts only as its own vm: its vm_start/exit/crash,
 * container_open for it, requests on containers it opened (no `vm` given) or that
 * name it as the caller (an fd handed to it), and its guest's vcmd and config
 * accesses (a device whose group sits in a container of its vm). `opened` holds the
 * containers opened for it earlier in the same batch. Returns why not, or null.
 *
 * @example
 * vmmRefusal(state, 'vm1', { op: 'vm_exit', vm: 'vm2' }, new Set()); // 'a vmm token for vm1 may not act as vm2'
 */
export function vmmRefusal(s: HostState, vm: string, req: Request, opened: ReadonlySet<string>): string | null {
  const r = req as Record<string, unknown>;
  const asOther = (who: unknown) => `a vmm token for ${vm} may not act as ${String(who)}`;
  switch (req.op) {
    case 'vm_start':
    case 'vm_exit':
    case 'vm_crash':
    case 'container_open':
    case 'vcmd_write':
    case 'vcmd_read':
      return req.vm === vm ? null : asOther(req.vm);
    case 'set_pasid_quota':
    case 'device_add':
    case 'device_remove':
      return `${req.op} is an admin's request`;
    case 'config_read':
    case 'config_write': {
      const owner = deviceVm(s, req.bdf);
      return owner === vm ? null : `device ${req.bdf} is not assigned to ${vm}${owner ? ` (its vm is ${owner})` : ''}`;
    }
    default: {
      if (r.vm !== undefined) return r.vm === vm ? null : asOther(r.vm);
      const container = r.container as string;
      if (opened.has(container)) return null;
      const c = s.containers.get(container);
      if (!c) return `container ${container} is unknown: name the caller ("vm": "${vm}")`;
      return c.vm === vm ? null : `container ${container} was opened by ${c.vm}, not ${vm}`;
    }
  }
}

/** The vm whose live container holds the device's group, or null. */
function deviceVm(s: HostState, bdf: string): string | null {
  const d = s.devices.get(bdf);
  const g = d ? s.groups.get(d.group) : undefined;
  const c = g?.container ? s.containers.get(g.container) : undefined;
  return c ? c.vm : null;
}

/**
 * The first request of a vmm's batch it may not make, against the host at the batch's
 * turn (containers it opens earlier in the batch count as its own), or null.
 *
 * @example
 * vmmBatchRefusal(state, 'vm1', [{ op: 'vm_exit', vm: 'vm2' }]); // 'a vmm token for vm1 may not act as vm2; nothing was written'
 */
export function vmmBatchRefusal(s: HostState, vm: string, reqs: readonly Request[]): string | null {
  const opened = new Set<string>();
  for (const [i, r] of reqs.entries()) {
    const why = vmmRefusal(s, vm, r, opened);
    if (why) return reqs.length > 1 ? `request ${i}: ${why}; nothing was written` : `${why}; nothing was written`;
    if (r.op === 'container_open') opened.add(r.container);
  }
  return null;
}
