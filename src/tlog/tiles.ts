/** Hashes per tile (tile height 8), and entries per entry bundle (C2SP tlog-tiles). */
export const TILE_WIDTH = 256;
export const TILE_HEIGHT = 8;

/**
 * The tlog-tiles path element of a tile index: groups of three digits, every group
 * but the last prefixed with "x".
 *
 * @example
 * tileIndexPath(1234067); // 'x001/x234/067'
 * tileIndexPath(5);       // '005'
 */
export function tileIndexPath(n: number): string {
  let s = String(n % 1000).padStart(3, '0');
  let rest = Math.floor(n / 1000);
  while (rest > 0) {
    s = `x${String(rest % 1000).padStart(3, '0')}/${s}`;
    rest = Math.floor(rest / 1000);
  }
  return s;
}

/**
 * A tile's path: `tile/<L>/<N>`, or `tile/entries/<N>` for an entry bundle, with
 * `.p/<W>` for a partial tile of width W < 256.
 *
 * @example
 * tilePath(0, 1234067, 256); // 'tile/0/x001/x234/067'
 * tilePath('entries', 3, 17); // 'tile/entries/003.p/17'
 */
export function tilePath(level: number | 'entries', n: number, width: number): string {
  return `tile/${level}/${tileIndexPath(n)}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

/**
 * The tiles of a tree of `size` leaves: for each tile level L, the hashes at tree level
 * 8L, in tiles of 256 (the last one partial). Level 0 holds the leaf hashes.
 *
 * @example
 * tilesOf(300); // [{ level: 0, index: 0, width: 256 }, { level: 0, index: 1, width: 44 }, { level: 1, index: 0, width: 1 }]
 */
export function tilesOf(size: number): Array<{ level: number; index: number; width: number }> {
  const out: Array<{ level: number; index: number; width: number }> = [];
  for (let level = 0; ; level++) {
    const count = Math.floor(size / TILE_WIDTH ** level);
    if (count === 0) break;
    for (let index = 0; index * TILE_WIDTH < count; index++) out.push({ level, index, width: Math.min(TILE_WIDTH, count - index * TILE_WIDTH) });
  }
  return out;
}

/**
 * An entry bundle: each entry as a 2-byte big-endian length then its bytes.
 *
 * @throws RangeError for an entry of 65536 bytes or more (tlog-tiles cannot carry it).
 */
export function entryBundle(entries: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const b = Buffer.from(e, 'utf8');
    if (b.length > 0xffff) throw new RangeError(`an entry of ${b.length} bytes does not fit a tlog-tiles entry bundle`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}
