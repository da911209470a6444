-- Users live on the shard their id hashes to.
CREATE TABLE IF NOT EXISTS users (
  id            uuid PRIMARY KEY,
  email         text NOT NULL,
  password_hash text NOT NULL,
  name          text NOT NULL,
  tier          text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'basic', 'premium')),
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The email directory lives on the shard the email hashes to: login finds the user id
-- with one lookup, and the primary key makes emails unique across all shards.
CREATE TABLE IF NOT EXISTS user_emails (
  email      text PRIMARY KEY,
  user_id    uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Rotating refresh tokens: a family is one login; reusing a rotated token revokes the family.
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL,
  family_id   uuid NOT NULL,
  token_hash  text NOT NULL,
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
