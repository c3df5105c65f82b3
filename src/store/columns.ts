/** The indexing columns of a row, copied out of its entry text. */
export interface IndexColumns {
  seq: number;
  at: string;
  type: string;
  op: string | null;
  machine: string | null;
  vm: string | null;
  container: string | null;
  mm: string | null;
  pasid: number | null;
  cause: number | null;
  request_id: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * The indexing columns of an entry: the one definition the writer and the verifier
 * share. For a request, `pasid` is the PASID it handed out or named.
 *
 * @example
 * indexColumns({ seq: 7, at: 't', type: 'transition', machine: 'pasid', pasid: 3, cause: 6 }).pasid; // 3
 */
export function indexColumns(e: Record<string, unknown>): IndexColumns {
  const req = (e.req ?? {}) as Record<string, unknown>;
  return {
    seq: e.seq as number,
    at: e.at as string,
    type: e.type as string,
    op: str(e.op),
    machine: str(e.machine),
    vm: str(e.vm),
    container: str(e.container) ?? str(req.container),
    mm: str(e.mm) ?? str(req.mm),
    pasid: num(e.pasid) ?? num(req.pasid),
    cause: num(e.cause),
    request_id: str(e.id),
  };
}
