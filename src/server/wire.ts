import type { GroupResult } from '../ledger.js';

/** A group item as it crosses to the writer thread: `vmm` names the vm a vmm token is bound to. */
export interface WireItem {
  reqs: unknown[];
  by?: string;
  vmm?: string;
}

/** Main thread → writer thread. */
export type WorkerRequest =
  | { id: number; kind: 'group'; items: WireItem[] }
  | { id: number; kind: 'grant'; role: string; vm?: string }
  | { id: number; kind: 'revoke'; token: string }
  | { id: number; kind: 'close' };

/** Writer thread → main thread (id 0: the thread is ready, or could not open the log). */
export type WorkerReply =
  | { id: number; ok: true; ready?: true; results?: GroupResult[]; seconds?: number; grant?: { token: string; secret: string }; revoked?: number }
  | { id: number; ok: false; error: string; refused: boolean };
