/** The fleet store: every host's log in PostgreSQL, shipped verified, audited there. */
export { FleetError, connectPg, kyselyPg, migratePg, PG_MIGRATIONS_DIR } from './pg.js';
export { hostName } from './host_name.js';
export { shipLog, followLog, ShipRefused, firstDifference, appendVerified, type ShipOptions, type ShipResult } from './ship.js';
export { shipFromServer, type ServerShipOptions } from './ship_server.js';
export { listHosts, hostRows, type HostRow } from './read.js';
export { auditHost, auditFleet, type HostAudit, type FleetAuditReport } from './audit.js';
export { verifyHost, verifyFleet, type HostVerification } from './verify.js';
export { findEntries, pasidHolders, type FindQuery, type FoundEntry, type PasidHolder } from './find.js';
export { formatFleetText, formatFleetCsv, formatFleetHtml, FLEET_CSV_SECTIONS } from './format.js';
export type { FleetDatabase } from './schema.js';
