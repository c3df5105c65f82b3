import { quoteKey } from './quote.js';

/**
 * Copying a caller's request into plain data before anything looks at it. A request
 * comes from any code: a getter may answer differently on each read, an inherited
 * `constructor` passes `in`, a field on a prototype is invisible to JSON, a Proxy runs
 * code on every access, a lone surrogate has no UTF-8 form. The copy reads each own
 * property once, through its descriptor, so what is checked is what is stored.
 */

/** Nesting a request may have: the request (0), a field (1), `ecaps_*` (1) and its elements (2). */
export const MAX_DEPTH = 4;

/** An unpaired UTF-16 surrogate: no UTF-8 form, so no JSON text to hash. */
const LONE_SURROGATE = /\p{Cs}/u;

/** What the copy refuses, as a one-line reason naming the place; the caller prefixes the op. */
export class NotPlainData extends Error {
  override name = 'NotPlainData';
}

/** Options of `plainCopy`. */
export interface PlainCopyOptions {
  /** True for an object the copy must not touch (a Proxy), when the caller can tell; pure JS cannot. */
  isExotic?: (o: object) => boolean;
}

/**
 * A fresh copy of `v` made only of own, enumerable data properties of plain objects
 * (prototype `Object.prototype` or null, copied as plain objects) and of arrays, with
 * strings well formed and `-0` as `0`. Other leaves (numbers, booleans, null, and
 * what JSON cannot hold) are passed through for the field checks to name.
 *
 * @throws NotPlainData for an accessor, a symbol or non-enumerable key, a `__proto__`
 * key, another prototype (a class instance, `Object.create(proto)`), a Proxy (when
 * `isExotic` tells), a hole or extra key in an array, a lone surrogate, or nesting
 * deeper than `MAX_DEPTH`; the message names the place by `path` (`pasid_cap.width`,
 * `ecaps_before[0]`; `''` is the request itself).
 * @example
 * plainCopy({ vm: 'a' }, '', 0); // { vm: 'a' }, a new object
 * plainCopy(Object.create({ vm: 'a' }), '', 0); // NotPlainData: the request is not a plain object ...
 */
export function plainCopy(v: unknown, path: string, depth: number, opts: PlainCopyOptions = {}): unknown {
  if (typeof v === 'string') {
    if (LONE_SURROGATE.test(v)) throw new NotPlainData(`${name(path)} holds a lone UTF-16 surrogate (text with no UTF-8 form)`);
    return v;
  }
  if (typeof v === 'number') return v === 0 ? 0 : v;
  if (typeof v !== 'object' || v === null) return v;
  if (opts.isExotic?.(v)) throw new NotPlainData(`${name(path)} is a Proxy, not plain data`);
  if (depth >= MAX_DEPTH) throw new NotPlainData(`${name(path)} is nested deeper than ${MAX_DEPTH} levels`);
  const proto = Object.getPrototypeOf(v) as unknown;
  if (Array.isArray(v)) {
    if (proto !== Array.prototype) throw new NotPlainData(`${name(path)} is not a plain array`);
    const keys = Reflect.ownKeys(v);
    const len = keys.length - 1;
    const length = Reflect.getOwnPropertyDescriptor(v, 'length');
    if (!length || length.value !== len) throw new NotPlainData(`${name(path)} is not a plain array (holes or extra keys)`);
    const out: unknown[] = [];
    for (let i = 0; i < len; i++) {
      const d = Reflect.getOwnPropertyDescriptor(v, String(i));
      if (!d || !('value' in d) || !d.enumerable) throw new NotPlainData(`${name(`${path}[${i}]`)} is not a plain array element (a hole or a getter)`);
      out.push(plainCopy(d.value, `${path}[${i}]`, depth + 1, opts));
    }
    return out;
  }
  if (proto !== Object.prototype && proto !== null) {
    throw new NotPlainData(`${name(path)} is not a plain object (a class instance, or an object with another prototype)`);
  }
  const out: Record<string, unknown> = {};
  for (const k of Reflect.ownKeys(v)) {
    if (typeof k === 'symbol') throw new NotPlainData(`${name(path)} has a symbol key`);
    // The field's place (fieldPath) is spelled out only for a message or a nested value: most fields are neither.
    // A plain object cannot take an own "__proto__" by assignment, and no field has that name.
    if (k === '__proto__') throw new NotPlainData(`${name(fieldPath(path, k))} is not a field name a request may use`);
    const d = Reflect.getOwnPropertyDescriptor(v, k);
    if (!d) throw new NotPlainData(`${name(fieldPath(path, k))} vanished while being read`);
    if (!('value' in d)) throw new NotPlainData(`${name(fieldPath(path, k))} is a getter or setter, not a data field`);
    if (!d.enumerable) throw new NotPlainData(`${name(fieldPath(path, k))} is not enumerable (JSON would drop it)`);
    const x: unknown = d.value;
    if (typeof x === 'string') {
      if (LONE_SURROGATE.test(x)) throw new NotPlainData(`${name(fieldPath(path, k))} holds a lone UTF-16 surrogate (text with no UTF-8 form)`);
      out[k] = x;
    } else if (typeof x === 'number') {
      out[k] = x === 0 ? 0 : x;
    } else if (typeof x !== 'object' || x === null) {
      out[k] = x;
    } else {
      out[k] = plainCopy(x, fieldPath(path, k), depth + 1, opts);
    }
  }
  return out;
}

function fieldPath(path: string, k: string): string {
  return path === '' ? quoteKey(k) : `${path}.${quoteKey(k)}`;
}

function name(path: string): string {
  return path === '' ? 'the request' : `"${path}"`;
}
