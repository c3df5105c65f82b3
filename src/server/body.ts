import type { IncomingMessage } from 'node:http';

/** Why a body could not be read: too large (413) or the client went away. */
export class BodyError extends Error {
  constructor(readonly status: 413 | 400, message: string) {
    super(message);
  }
}

/**
 * Reads a request body of at most `max` bytes. A declared `Content-Length` over the
 * limit is refused before reading; a body that grows past it stops being read.
 *
 * @throws BodyError 413 over the limit; 400 when the client aborted mid-body.
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      reject(new BodyError(413, `the body is ${declared} bytes, over the limit of ${max}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        reject(new BodyError(413, `the body is over the limit of ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    req.on('aborted', () => {
      if (done) return;
      done = true;
      reject(new BodyError(400, 'the client closed the connection mid-body'));
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(new BodyError(400, `reading the body failed: ${e.message}`));
    });
  });
}
