import { murmur3 } from '@headroom/core'

/**
 * The logical shard of a key, exactly as the router's hash strategy computes it:
 * murmur3 of the key's UTF-8 bytes, mapped onto `logicalShards` by multiply-shift.
 */
export function logicalShardOf(key: string, logicalShards = 65_536, seed = 0): number {
  return Math.floor((murmur3(key, seed) * logicalShards) / 4294967296)
}

/**
 * SQL that defines `headroom_logical_shard(key text, logical_shards int, seed int)`, an
 * IMMUTABLE function giving the same answer as {@link logicalShardOf}, so a table can
 * carry its rows' logical shard in a stored generated column:
 *
 * `logical_shard integer GENERATED ALWAYS AS (headroom_logical_shard(id::text, 65536, 0)) STORED`
 *
 * A publication's row filter may only use built-in functions, so the mover filters on
 * that column rather than on the hash itself. It calls no other function of its own:
 * replication workers run with an empty search_path.
 */
// a * b mod 2^32 for a < 2^32 and a constant b, in 16-bit halves (no bigint overflow).
const mul32 = (a: string, b: number) =>
  `(((${a} * ${b & 0xffff}) + (((${a} * ${b >>> 16}) & 65535) << 16)) & 4294967295)`

export const logicalShardFunctionSql = `
CREATE OR REPLACE FUNCTION headroom_logical_shard(key text, logical_shards integer DEFAULT 65536, seed integer DEFAULT 0)
RETURNS integer LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  b bytea := convert_to(key, 'UTF8');
  n integer := length(b);
  h bigint := seed::bigint & 4294967295;
  k bigint;
  i integer := 0;
BEGIN
  WHILE i + 4 <= n LOOP
    k := get_byte(b, i)::bigint | (get_byte(b, i + 1)::bigint << 8)
      | (get_byte(b, i + 2)::bigint << 16) | (get_byte(b, i + 3)::bigint << 24);
    k := ${mul32('k', 0xcc9e2d51)};
    k := ((k << 15) | (k >> 17)) & 4294967295;
    k := ${mul32('k', 0x1b873593)};
    h := h # k;
    h := ((h << 13) | (h >> 19)) & 4294967295;
    h := (h * 5 + 3864292196) & 4294967295;
    i := i + 4;
  END LOOP;
  k := 0;
  IF n - i >= 3 THEN k := k # (get_byte(b, i + 2)::bigint << 16); END IF;
  IF n - i >= 2 THEN k := k # (get_byte(b, i + 1)::bigint << 8); END IF;
  IF n - i >= 1 THEN
    k := k # get_byte(b, i)::bigint;
    k := ${mul32('k', 0xcc9e2d51)};
    k := ((k << 15) | (k >> 17)) & 4294967295;
    k := ${mul32('k', 0x1b873593)};
    h := h # k;
  END IF;
  h := h # n;
  h := h # (h >> 16);
  h := ${mul32('h', 0x85ebca6b)};
  h := h # (h >> 13);
  h := ${mul32('h', 0xc2b2ae35)};
  h := h # (h >> 16);
  RETURN ((h * logical_shards) >> 32)::integer;
END
$$;
`

/**
 * A set of logical shards as a bytea literal for `get_bit(bitmap, logical_shard)`: an
 * IMMUTABLE built-in, so it is allowed in a publication's row filter and a trigger's
 * WHEN clause, and costs one lookup per row however many logical shards move.
 * Postgres numbers bit `n` as bit `n % 8` (from the least significant) of byte `n / 8`.
 */
export function bitmapLiteral(logicalShards: readonly number[], total: number): string {
  const bytes = Buffer.alloc(Math.ceil(total / 8))
  for (const b of logicalShards) bytes[b >> 3]! |= 1 << (b & 7)
  return `'\\x${bytes.toString('hex')}'::bytea`
}
