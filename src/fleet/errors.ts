/** A fleet store that cannot be used, or a request it refuses, with a message a person can act on. */
export class FleetError extends Error {
  override name = 'FleetError';
}
