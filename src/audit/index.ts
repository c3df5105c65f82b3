/** The compliance audit: invariant checks over the whole log, quota report, quirks. */
export { auditLog, type AuditOptions } from './audit_log.js';
export { Auditor, configOf, type AuditorOptions } from './auditor.js';
export { INVARIANTS, type InvariantDef } from './invariants.js';
export type { Finding, InvariantResult } from './findings.js';
export { QUIRK_KINDS, type QuirkKind, type QuirkHit, type QuirkSummary } from './quirks.js';
export type { AuditReport } from './report.js';
export type { VfioMmReport, QuotaChange } from './vfio_mm_report.js';
export type { VmReport } from './vm_report.js';
export { GuestAccount, type GuestReport, type VcmdVmReport, type DeviceGuestReport } from './guest_report.js';
export type { SeriesPoint } from './series.js';
export { formatText } from './format_text.js';
export { formatCsv, CSV_SECTIONS, CSV_HELP } from './format_csv.js';
export { formatHtml } from './format_html.js';
