import { EEXIST, ESRCH } from '../../uapi/errno.js';
import { vmGuards } from '../../../machines/vm.js';
import { closeContainer } from '../cascade.js';
import { accept, refuse, type Decision } from '../decision.js';
import { Plan } from '../plan.js';
import type { HostState } from '../state.js';

/**
 * A VMM process starts with its mm token. A running vm id is -EEXIST. `vccap` is its
 * vIOMMU's VCCAP as QEMU was configured (default 1, PAS: `x-scalable-mode=modern`); it is
 * recorded only when given, so the default leaves the entry as it always was.
 */
export function vmStart(s: HostState, req: { vm: string; mm: string; vccap?: number }): Decision {
  const vm = s.vms.get(req.vm);
  if (vm && vmGuards.isRunning(vm.state)) return refuse(-EEXIST, 'vm_exists', req.vm);
  const plan = new Plan(s);
  plan.step('vm', 'VM_START', { vm: req.vm, mm: req.mm, ...(req.vccap !== undefined ? { vccap: req.vccap } : {}) });
  return accept(plan, { ret: 0, vm: req.vm });
}

/**
 * A VMM exits or crashes: the kernel closes every fd it held, so each container it
 * opened closes (groups detach, vfio_mm puts, PASIDs freed), in open order; then the
 * process is gone. Nothing it held stays allocated.
 */
export function vmEnd(s: HostState, req: { vm: string }, event: 'VM_EXIT' | 'VM_CRASH'): Decision {
  const vm = s.vms.get(req.vm);
  if (!vm) return refuse(-ESRCH, 'no_such_vm', req.vm);
  if (!vmGuards.isRunning(vm.state)) return refuse(-ESRCH, 'vm_not_running', req.vm);
  const plan = new Plan(s);
  for (const id of vm.containers) {
    const c = s.containers.get(id);
    if (c && c.state !== 'closed') closeContainer(plan, c);
  }
  plan.step('vm', event, { vm: req.vm, mm: vm.mm });
  return accept(plan, { ret: 0, vm: req.vm });
}
