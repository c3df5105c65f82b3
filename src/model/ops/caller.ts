import { EBADF, ESRCH } from '../../uapi/errno.js';
import { containerGuards } from '../../../machines/container.js';
import { vmGuards } from '../../../machines/vm.js';
import { refuse, type Decision } from '../decision.js';
import type { ContainerState, HostState } from '../state.js';

/**
 * The first checks of every ioctl on a container fd: the calling process must be
 * alive (a process that exited issues nothing: -ESRCH) and the fd open (-EBADF).
 * The caller is the container's opener unless the request names another process
 * that was handed the fd.
 */
export function resolveContainer(
  s: HostState,
  req: { container: string; vm?: string },
): { c: ContainerState; vm: string } | { refused: Decision } {
  if (req.vm !== undefined) {
    const caller = s.vms.get(req.vm);
    if (!caller) return { refused: refuse(-ESRCH, 'no_such_vm', req.vm) };
    if (!vmGuards.isRunning(caller.state)) return { refused: refuse(-ESRCH, 'vm_not_running', req.vm) };
  }
  const c = s.containers.get(req.container);
  if (!c) return { refused: refuse(-EBADF, 'no_such_container', req.vm) };
  const vm = req.vm ?? c.vm;
  if (!containerGuards.isOpen(c.state)) return { refused: refuse(-EBADF, 'container_closed', vm) };
  return { c, vm };
}
