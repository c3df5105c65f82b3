import { appendFileSync } from 'node:fs';

/** Module customization hooks (node:module register) behind load_trace.ts: they run on the loader's thread. */
let file = '';

export function initialize(data: { file: string }): void {
  file = data.file;
}

type Resolved = { url: string };
export async function resolve(specifier: string, context: unknown, next: (s: string, c: unknown) => Promise<Resolved>): Promise<Resolved> {
  const resolved = await next(specifier, context);
  appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
