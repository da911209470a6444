-- Each row carries the logical shard of its routing key (the user id, or "email:" + the
-- email for the directory), computed in SQL exactly as @headroom/shard routes it, so an
-- online shard move can publish, fence and verify just the rows that move.
-- The function is logicalShardFunctionSql from @headroom/shard/postgres.
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
    k := (((k * 11601) + (((k * 52382) & 65535) << 16)) & 4294967295);
    k := ((k << 15) | (k >> 17)) & 4294967295;
    k := (((k * 13715) + (((k * 7047) & 65535) << 16)) & 4294967295);
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
    k := (((k * 11601) + (((k * 52382) & 65535) << 16)) & 4294967295);
    k := ((k << 15) | (k >> 17)) & 4294967295;
    k := (((k * 13715) + (((k * 7047) & 65535) << 16)) & 4294967295);
    h := h # k;
  END IF;
  h := h # n;
  h := h # (h >> 16);
  h := (((h * 51819) + (((h * 34283) & 65535) << 16)) & 4294967295);
  h := h # (h >> 13);
  h := (((h * 44597) + (((h * 49842) & 65535) << 16)) & 4294967295);
  h := h # (h >> 16);
  RETURN ((h * logical_shards) >> 32)::integer;
END
$$;

ALTER TABLE users ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(id::text, 65536, 0)) STORED;
ALTER TABLE user_emails ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard('email:' || email, 65536, 0)) STORED;
ALTER TABLE refresh_tokens ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(user_id::text, 65536, 0)) STORED;
ALTER TABLE business_profiles ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(owner_id::text, 65536, 0)) STORED;
ALTER TABLE content_items ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(user_id::text, 65536, 0)) STORED;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(user_id::text, 65536, 0)) STORED;
ALTER TABLE notifications ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(user_id::text, 65536, 0)) STORED;
ALTER TABLE analytics_events ADD COLUMN IF NOT EXISTS logical_shard integer
  GENERATED ALWAYS AS (headroom_logical_shard(user_id::text, 65536, 0)) STORED;
