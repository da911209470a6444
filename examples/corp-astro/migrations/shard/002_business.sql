CREATE TABLE IF NOT EXISTS business_profiles (
  id            uuid PRIMARY KEY,
  owner_id      uuid NOT NULL,
  name          text NOT NULL,
  industry      text NOT NULL,
  founding_date date NOT NULL,
  location      text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS content_items (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL,
  profile_id   uuid NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('daily', 'monthly')),
  content_date date NOT NULL,
  title        text NOT NULL,
  body         text NOT NULL,
  source       text NOT NULL CHECK (source IN ('astro', 'template')),
  template_id  text NOT NULL,
  data         jsonb NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS reports (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL,
  profile_id   uuid NOT NULL,
  month        text NOT NULL,
  status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  priority     text NOT NULL,
  result       jsonb,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
);

CREATE TABLE IF NOT EXISTS notifications (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL,
  kind       text NOT NULL,
  payload    jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Event ids are made at ingest, so a batch job that runs twice inserts nothing twice.
CREATE TABLE IF NOT EXISTS analytics_events (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL,
  type        text NOT NULL,
  properties  jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
