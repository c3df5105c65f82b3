import type { Command } from 'commander';

/** Adds one top-level command (and its subcommands) to the program. */
export type Register = (program: Command) => void;

/**
 * A top-level command as the top-level help lists it, and how to load it. `options` and
 * `args` give its term there (`run [options] <file>`): commander adds ` [options]` when the
 * command has any option, then its arguments.
 */
export interface CommandEntry {
  readonly name: string;
  readonly options: boolean;
  readonly args: string;
  readonly description: string;
  readonly load: () => Promise<Register>;
}

/**
 * Every top-level command, in the order of the top-level help. Only the one named on the
 * command line is imported (its module pulls in the store, machines, PostgreSQL...), so
 * `--help` and a typo start fast. test/cli_startup.test.ts checks each row against the
 * command its module registers.
 *
 * @example
 * const state = COMMANDS.find((c) => c.name === 'state')!;
 * (await state.load())(program);
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'run', options: true, args: '<file>',
    description: 'execute a request file (one JSON request per line) against a log',
    load: () => import('./run.js').then((m) => m.registerRun),
  },
  {
    name: 'state', options: true, args: '',
    description: 'print the current state: vms, containers, vfio_mms (mm, refs, quota, PASIDs), capacity_avail',
    load: () => import('./state.js').then((m) => m.registerState),
  },
  {
    name: 'log', options: true, args: '',
    description: 'print the log entries, oldest first',
    load: () => import('./log.js').then((m) => m.registerLog),
  },
  {
    name: 'demo', options: true, args: '',
    description: 'run a built-in story (VMs sharing a vfio_mm, a quota hit, an admin raising it, a crash reclaiming PASIDs) into a new log',
    load: () => import('./demo.js').then((m) => m.registerDemo),
  },
  {
    name: 'audit', options: true, args: '',
    description: 'check every invariant at every entry of the log; quota report per vm and vfio_mm; kernel quirks hit',
    load: () => import('./audit.js').then((m) => m.registerAudit),
  },
  {
    name: 'replay', options: true, args: '',
    description: 'the state just after an entry (or at a time), in the shape of "state"; or --verify: re-decide every request with today\'s code',
    load: () => import('./replay.js').then((m) => m.registerReplay),
  },
  {
    name: 'explain', options: true, args: '',
    description: 'why an entry is what it is: for a request, what was asked, what the caller saw and the facts that decided it; for a transition, the request that caused it',
    load: () => import('./explain.js').then((m) => m.registerExplain),
  },
  {
    name: 'timeline', options: true, args: '',
    description: 'the life of one vm, PASID, mm token or PCI function, entry by entry, with a summary',
    load: () => import('./timeline.js').then((m) => m.registerTimeline),
  },
  {
    name: 'diff', options: true, args: '',
    description: 'what changed between two moments: PASIDs allocated and freed, vfio_mms created and released, quota changes, vms started and ended',
    load: () => import('./diff.js').then((m) => m.registerDiff),
  },
  {
    name: 'verify', options: true, args: '',
    description: 'recompute leaf and chain of every entry, check the indexing columns, canonical text and seq order; with --checkpoint, also that the log still extends a signed checkpoint',
    load: () => import('./verify.js').then((m) => m.registerVerify),
  },
  {
    name: 'checkpoint', options: true, args: '',
    description: "sign the log's size and tree root (C2SP checkpoint, with a key from keygen --name) or size and chain head (JSON, with a PEM key), after verifying the log: later, verify --checkpoint detects truncation and rewriting",
    load: () => import('./checkpoint.js').then((m) => m.registerCheckpoint),
  },
  {
    name: 'keygen', options: true, args: '',
    description: 'make an Ed25519 key pair for signing checkpoints: PREFIX.key (private) and PREFIX.pub (public, SPKI PEM); with --name also PREFIX.vkey, the C2SP signed-note verifier key',
    load: () => import('./keygen.js').then((m) => m.registerKeygen),
  },
  {
    name: 'export', options: true, args: '',
    description: 'copy the log into one self-contained file (no -wal/-shm) to hand to an auditor',
    load: () => import('./export.js').then((m) => m.registerExport),
  },
  {
    name: 'explore', options: true, args: '',
    description: 'the incident explorer: a timeline, a scrubber and the host at any moment, in the browser (loopback only)',
    load: () => import('./explore.js').then((m) => m.registerExplore),
  },
  {
    name: 'ship', options: true, args: '',
    description: "copy the log's entries into PostgreSQL under the host's name, verified on arrival; resumable, idempotent",
    load: () => import('./ship.js').then((m) => m.registerShip),
  },
  {
    name: 'fleet', options: false, args: '',
    description: 'the fleet store in PostgreSQL: hosts, audit, find, verify (logs shipped with "ship")',
    load: () => import('./fleet.js').then((m) => m.registerFleet),
  },
  {
    name: 'serve', options: true, args: '',
    description: 'run the PASID authority as a local daemon: HTTP/1.1 + JSON on a Unix socket, the single writer of the log',
    load: () => import('./serve.js').then((m) => m.registerServe),
  },
  {
    name: 'token', options: false, args: '',
    description: "grant, list and revoke the server's bearer tokens (each a log entry; only the secret's SHA-256 is kept)",
    load: () => import('./token.js').then((m) => m.registerToken),
  },
  {
    name: 'openapi', options: false, args: '',
    description: 'print the OpenAPI 3.1 document of `serve`, generated from the request shapes (docs/openapi.json is this)',
    load: () => import('./openapi.js').then((m) => m.registerOpenapi),
  },
  {
    name: 'prove', options: true, args: '',
    description: 'an RFC 6962 inclusion proof of entry --seq, or a consistency proof from --old-size, from the stored Merkle tree (O(log n) reads)',
    load: () => import('./prove.js').then((m) => m.registerProve),
  },
  {
    name: 'bundle', options: true, args: '',
    description: "one self-contained JSON file for an auditor: entries' exact texts, their inclusion proofs, the signed checkpoint (check it with verify-bundle, no database needed)",
    load: () => import('./bundle.js').then((m) => m.registerBundle),
  },
  {
    name: 'verify-bundle', options: true, args: '<file>',
    description: 'check a bundle from "pasid-ledger bundle" with no database: the checkpoint signature, each entry\'s leaf from its text, each inclusion proof',
    load: () => import('./verify_bundle.js').then((m) => m.registerVerifyBundle),
  },
  {
    name: 'witness', options: true, args: '<checkpoint>',
    description: "cosign a log's C2SP checkpoint (tlog-cosignature) only if it extends the last one this witness cosigned for that origin: refuses forks and rollbacks",
    load: () => import('./witness.js').then((m) => m.registerWitness),
  },
  {
    name: 'export-tiles', options: true, args: '',
    description: 'write the log as a static C2SP tlog-tiles tree (checkpoint, tile/<L>/<N>, tile/entries/<N>) that any web server can host',
    load: () => import('./export_tiles.js').then((m) => m.registerExportTiles),
  },
  {
    name: 'migrate', options: true, args: '',
    description: "bring a log's schema up to date and build its Merkle tree (for logs written before proofs existed): resumable, progress on a terminal",
    load: () => import('./migrate.js').then((m) => m.registerMigrate),
  },
];
