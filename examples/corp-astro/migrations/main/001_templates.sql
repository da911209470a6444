-- Global data: the content templates every worker preloads at start.
CREATE TABLE IF NOT EXISTS content_templates (
  id         text PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('daily', 'monthly')),
  title      text NOT NULL,
  body       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS content_templates_kind_idx ON content_templates (kind);
