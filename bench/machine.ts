import os from 'node:os';

/** The machine a bench ran on, printed beside its figures. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  sqlite: string;
}

/**
 * Describes this machine: CPU model, logical cores, memory, OS, node and SQLite versions.
 *
 * @example
 * machineInfo(db.prepare('select sqlite_version() v').get().v).cores; // 2
 */
export function machineInfo(sqliteVersion: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    sqlite: sqliteVersion,
  };
}
