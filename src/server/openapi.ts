import { BDF_RE } from '../model/device_spec.js';
import { REQUEST_OPS, requestShape, type RequestFieldKind } from '../model/request.js';

/** The JSON Schema of one request field kind, as `parseRequest` checks it. */
function fieldSchema(kind: RequestFieldKind): Record<string, unknown> {
  switch (kind) {
    case 'id': return { type: 'string', minLength: 1, maxLength: 256 };
    case 'text': return { type: 'string', maxLength: 256 };
    case 'u32': return { type: 'integer', minimum: 0, maximum: 4294967295 };
    case 'int': return { type: 'integer' };
    case 'number': return { type: 'number' };
    case 'bool': return { type: 'boolean' };
    case 'hex': return { type: 'string', pattern: '^(?:[0-9a-fA-F]{2})*$', maxLength: 8192 };
    case 'type': return { oneOf: [{ type: 'string' }, { type: 'integer' }], description: 'an iommu type name (VFIO_TYPE1_NESTING_IOMMU, ...) or number' };
    case 'u64': return { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
    case 'bdf': return { type: 'string', pattern: BDF_RE.source, description: 'a PCI address, domain:bus:device.function' };
    case 'size': return { enum: [1, 2, 4] };
    case 'offset': return { type: 'integer', minimum: 0, maximum: 2 ** 40 - 1 };
    case 'pasid_cap': return { type: 'object', description: 'the PASID capability: {exec, priv, width, offset?} (see the README, device_add)' };
    case 'ecaps': return { type: 'array', items: { type: 'object' }, description: 'other extended capabilities: [{id, offset, version?}] (see the README, device_add)' };
  }
}

const json = (schema: unknown) => ({ 'application/json': { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: ERROR_TEXT[c], content: json(ref('Error')) }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'malformed JSON or request; nothing was written',
  401: 'no valid token (missing, unknown or revoked)',
  403: 'the token may not make this request; nothing was written',
  404: 'no such resource',
  405: 'the method is not answered here (the explorer: GET and HEAD only)',
  413: 'the body is over --max-body',
  501: 'not available yet (the explorer\'s evidence bundle)',
  503: 'the server is shutting down, or the commit failed (nothing of it was written)',
};
const bearer = [{ bearer: [] }];

/**
 * The OpenAPI 3.1 description of `pasid-ledger serve`, generated from the request
 * shapes `parseRequest` checks (one schema per op), so the document cannot drift from
 * the code: docs/openapi.json is this, and a test compares them.
 *
 * @example
 * openApiDocument().paths['/v1/requests'].post.requestBody; // oneOf a Request or an array of them
 */
export function openApiDocument(): Record<string, any> {
  const schemas: Record<string, unknown> = {};
  for (const op of REQUEST_OPS) {
    const shape = requestShape(op);
    const properties: Record<string, unknown> = { op: { const: op } };
    for (const [k, kind] of Object.entries(shape.required)) properties[k] = fieldSchema(kind);
    for (const [k, kind] of Object.entries(shape.optional)) properties[k] = fieldSchema(kind);
    schemas[`Request_${op}`] = { type: 'object', required: ['op', ...Object.keys(shape.required)], properties, additionalProperties: false };
  }
  schemas.Request = {
    description: 'One request: a line of a request file (README, "Request file").',
    oneOf: REQUEST_OPS.map((op) => ref(`Request_${op}`)),
    discriminator: { propertyName: 'op', mapping: Object.fromEntries(REQUEST_OPS.map((op) => [op, `#/components/schemas/Request_${op}`])) },
  };
  schemas.Outcome = {
    description: 'What the caller sees, exactly as `pasid-ledger run --json` prints it. A kernel refusal is a negative ret.',
    type: 'object', required: ['seq', 'ret', 'pasid', 'reason'],
    properties: {
      seq: { type: 'integer', description: 'the seq of the request entry in the log' },
      ret: { type: 'integer', description: 'the ioctl return: 0, a PASID (v7 ALLOC) or a negative errno' },
      pasid: { type: ['integer', 'null'] },
      reason: { type: ['string', 'null'], description: 'the real reason the errno hides' },
      hex: { type: 'string', description: 'the struct as the ioctl leaves it (raw requests, GET_INFO)' },
      value: { type: 'integer', description: 'a register or config-space value' },
      info: { type: 'object', description: 'the meaning of a GET_INFO reply' },
    },
  };
  schemas.Error = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } };
  schemas.Token = {
    type: 'object', required: ['token', 'role', 'vm', 'added', 'revoked'],
    properties: { token: { type: 'string' }, role: { enum: ['vmm', 'admin', 'auditor'] }, vm: { type: ['string', 'null'] }, added: { type: 'integer' }, revoked: { type: ['integer', 'null'] } },
  };
  const b64 = { type: 'string', contentEncoding: 'base64', description: 'a SHA-256 hash, base64' };
  schemas.InclusionProof = {
    description: 'An RFC 6962 inclusion proof, exactly as `pasid-ledger prove --seq N --json` prints it (indented, ending in a newline).',
    type: 'object', required: ['index', 'tree_size', 'leaf_hash', 'hashes', 'root'],
    properties: { index: { type: 'integer', description: 'seq - 1' }, tree_size: { type: 'integer' }, leaf_hash: b64, hashes: { type: 'array', items: b64 }, root: b64 },
  };
  schemas.ConsistencyProof = {
    description: 'An RFC 6962 consistency proof, exactly as `pasid-ledger prove --old-size A --json` prints it.',
    type: 'object', required: ['old_size', 'tree_size', 'old_root', 'root', 'hashes'],
    properties: { old_size: { type: 'integer' }, tree_size: { type: 'integer' }, old_root: b64, root: b64, hashes: { type: 'array', items: b64 } },
  };
  schemas.StoredCheckpoint = {
    description: 'A signed checkpoint the log keeps in its `checkpoints` table: the fields of a `pasid-ledger-checkpoint/1` checkpoint but `format` (docs/checkpoint.md); `ship` copies them into the fleet store.',
    type: 'object', required: ['size', 'chain', 'at', 'public_key', 'signature'],
    properties: {
      size: { type: 'integer', description: 'the seq of the last entry it signs' },
      chain: { type: 'string', description: 'the chain of entry size, hex' },
      at: { type: 'string', description: 'when it was signed, ISO-8601 UTC' },
      public_key: { type: 'string', description: 'the signer\'s Ed25519 public key, SPKI PEM' },
      signature: { type: 'string', contentEncoding: 'base64', description: 'the Ed25519 signature' },
    },
  };
  const sizeParam = { name: 'size', in: 'query', required: false, schema: { type: 'integer', minimum: 1 }, description: 'the tree size (default: the latest signed checkpoint\'s size, else the whole log)' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'pasid-ledger serve', version: '1',
      description: 'The host\'s PASID authority over HTTP/1.1 + JSON on a Unix domain socket. See docs/http-api.md.',
    },
    servers: [{ url: 'http://localhost', description: 'over the Unix socket: curl --unix-socket PATH http://localhost/...' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a token from `pasid-ledger token add`' },
        uiSession: { type: 'apiKey', in: 'cookie', name: 'pasid_ui', description: 'the session `GET /ui/?token=SECRET` sets (an admin or auditor token); /ui/ only' },
      },
      schemas,
    },
    security: bearer,
    paths: {
      '/v1/requests': {
        post: {
          summary: 'Run one request, or a batch in one transaction',
          description: 'Decided in arrival order with the requests of other callers and committed (synchronous=FULL) before the answer. A vmm token acts only as its vm; an admin\'s set_pasid_quota records the token id as actor.',
          requestBody: { required: true, content: json({ oneOf: [ref('Request'), { type: 'array', items: ref('Request') }] }) },
          responses: { 200: { description: 'the outcome, or an array of outcomes for an array', content: json({ oneOf: [ref('Outcome'), { type: 'array', items: ref('Outcome') }] }) }, ...errors(400, 401, 403, 413, 503) },
        },
      },
      '/v1/state': {
        get: {
          summary: 'The host as `pasid-ledger state --json` prints it',
          parameters: [{ name: 'vm', in: 'query', required: false, schema: { type: 'string' }, description: 'only this vm (a vmm token must give its own)' }],
          responses: { 200: { description: 'the state', content: json({ type: 'object' }) }, ...errors(401, 403, 503) },
        },
      },
      '/v1/pasids/{pasid}': {
        get: {
          summary: 'Who holds a PASID (admin, auditor)',
          parameters: [{ name: 'pasid', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } }],
          responses: {
            200: { description: 'its owner, or null when free', content: json({ type: 'object', properties: { pasid: { type: 'integer' }, owner: { type: ['object', 'null'], properties: { vfio_mm: { type: 'integer' }, mm: { type: 'string' } } } } }) },
            ...errors(401, 403, 503),
          },
        },
      },
      '/v1/entries': {
        get: {
          summary: 'Log entries from a seq, as NDJSON (admin, auditor)',
          parameters: [
            { name: 'from', in: 'query', required: false, schema: { type: 'integer', minimum: 1, default: 1 } },
            { name: 'follow', in: 'query', required: false, schema: { enum: ['1'] }, description: 'keep the stream open and send entries as they commit' },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 0 }, description: 'at most this many entries, then the response ends (with follow=1 too); 0 sends only the headers' },
          ],
          responses: {
            200: {
              description: 'one entry (its canonical JSON text, as hashed) per line',
              headers: {
                'Pasid-Ledger-Head': { description: 'the head seq when the response started', schema: { type: 'integer', minimum: 0 } },
                'Pasid-Ledger-Prev-Chain': { description: 'the stored chain (hex) of entry from-1 (32 zero bytes for from=1); absent when the log has no such entry', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
              },
              content: { 'application/x-ndjson': { schema: { type: 'string' } } },
            },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      '/v1/checkpoints': {
        get: {
          summary: 'The signed checkpoints the log keeps in its checkpoints table, by size (admin, auditor)',
          parameters: [{ name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0, default: 0 }, description: 'only those of a size greater than this' }],
          responses: { 200: { description: 'the stored checkpoints, ordered by size; [] when the log keeps none', content: json({ type: 'array', items: ref('StoredCheckpoint') }) }, ...errors(400, 401, 403, 503) },
        },
      },
      '/v1/tokens': {
        get: { summary: 'The tokens granted (admin, auditor); never a secret', responses: { 200: { description: 'tokens', content: json({ type: 'array', items: ref('Token') }) }, ...errors(401, 403) } },
        post: {
          summary: 'Grant a token (admin); the secret is in this answer only',
          requestBody: { required: true, content: json({ type: 'object', required: ['role'], properties: { role: { enum: ['vmm', 'admin', 'auditor'] }, vm: { type: 'string' } } }) },
          responses: { 200: { description: 'the grant', content: json({ type: 'object', properties: { token: { type: 'string' }, role: { type: 'string' }, vm: { type: 'string' }, secret: { type: 'string' } } }) }, ...errors(400, 401, 403) },
        },
      },
      '/v1/tokens/{token}': {
        delete: {
          summary: 'Revoke a token (admin)',
          parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'revoked at seq', content: json({ type: 'object', properties: { token: { type: 'string' }, revoked: { type: 'integer' } } }) }, ...errors(401, 403, 404) },
        },
      },
      '/v1/proof/inclusion': {
        get: {
          summary: 'An inclusion proof of entry seq in the tree of size entries (admin, auditor)',
          parameters: [{ name: 'seq', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } }, sizeParam],
          responses: { 200: { description: 'the proof, as `prove --json` prints it', content: json(ref('InclusionProof')) }, ...errors(400, 401, 403, 503) },
        },
      },
      '/v1/proof/consistency': {
        get: {
          summary: 'A consistency proof that the tree of old entries is a prefix of the tree of size entries (admin, auditor)',
          parameters: [{ name: 'old', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } }, sizeParam],
          responses: { 200: { description: 'the proof, as `prove --old-size --json` prints it', content: json(ref('ConsistencyProof')) }, ...errors(400, 401, 403, 503) },
        },
      },
      '/checkpoint': {
        get: {
          summary: 'The latest signed C2SP checkpoint (serve --checkpoint-key); public evidence, no token needed',
          security: [],
          responses: {
            200: { description: 'a C2SP signed note: origin, tree size, base64 root, a blank line, the signature line (docs/checkpoint.md)', content: { 'text/plain': { schema: { type: 'string' } } } },
            404: { description: 'the server signs no checkpoints (no --checkpoint-key), or none yet (an empty log)', content: json(ref('Error')) },
            ...errors(503),
          },
        },
      },
      '/healthz': {
        get: { summary: 'Liveness; no token needed', security: [], responses: { 200: { description: 'ok and the head seq', content: json({ type: 'object', properties: { ok: { const: true }, seq: { type: 'integer' } } }) }, ...errors(503) } },
      },
      '/metrics': {
        get: { summary: 'Prometheus metrics (admin, auditor)', responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(401, 403) } },
      },
      '/ui/': {
        get: {
          summary: 'The incident explorer\'s app (admin, auditor); with ?token=SECRET, a session cookie and a redirect without it',
          security: [{ bearer: [] }, { uiSession: [] }, {}],
          parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string' }, description: 'an admin or auditor secret, traded for an HttpOnly, SameSite=Strict session cookie (Path=/ui/)' }],
          responses: {
            200: { description: 'the single-page app', content: { 'text/html': { schema: { type: 'string' } } } },
            303: { description: 'after ?token=: Set-Cookie pasid_ui=ID and Location without token' },
            ...errors(401, 403, 503),
          },
        },
      },
      '/ui/api/{name}': {
        get: {
          summary: 'The incident explorer\'s JSON API (admin, auditor): meta, entries, locate, state, explain, diff, charts, evidence (docs/explorer.md)',
          security: [{ bearer: [] }, { uiSession: [] }],
          parameters: [{ name: 'name', in: 'path', required: true, schema: { enum: ['meta', 'entries', 'locate', 'state', 'explain', 'diff', 'charts', 'evidence'] } }],
          responses: { 200: { description: 'as docs/explorer.md describes', content: json({ type: 'object' }) }, ...errors(400, 401, 403, 404, 405, 501) },
        },
      },
    },
  };
}
