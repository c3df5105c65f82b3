import { register } from 'node:module';

/**
 * `node --import <this file>`: appends the URL of every module the process imports (ESM
 * resolution, so also CommonJS packages imported from ESM) to the file named by
 * $PASID_LOAD_TRACE, one a line. Used to check what `pasid-ledger --help` loads.
 */
const file = process.env.PASID_LOAD_TRACE;
if (file === undefined || file === '') throw new Error('load_trace: set PASID_LOAD_TRACE to the file to write');
register('./load_trace_hooks.js', import.meta.url, { data: { file } });
