-- Every request-path query filters by the owner first: these indexes serve them.
CREATE UNIQUE INDEX IF NOT EXISTS users_email_idx ON users (email);
CREATE INDEX IF NOT EXISTS refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_user_idx ON refresh_tokens (user_id);
-- Keyset-friendly pagination: newest first, id breaks ties.
CREATE INDEX IF NOT EXISTS business_profiles_owner_idx ON business_profiles (owner_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX IF NOT EXISTS content_items_daily_idx ON content_items (profile_id, kind, content_date);
CREATE INDEX IF NOT EXISTS content_items_user_idx ON content_items (user_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS content_items_expires_idx ON content_items (expires_at);
CREATE INDEX IF NOT EXISTS reports_user_idx ON reports (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS notifications_user_idx ON notifications (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS analytics_events_time_idx ON analytics_events (occurred_at);
CREATE INDEX IF NOT EXISTS analytics_events_type_idx ON analytics_events (type, occurred_at);
