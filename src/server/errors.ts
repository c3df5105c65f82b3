/** Why a server cannot start (exit 2 from the CLI). */
export class ServeError extends Error {
  override name = 'ServeError';
}

/** The largest request body `serve` accepts unless told otherwise (bytes). */
export const DEFAULT_MAX_BODY = 1024 * 1024;
