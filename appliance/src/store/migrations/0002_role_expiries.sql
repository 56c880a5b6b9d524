-- 0002: each accepted TUF role's signed expiry, as JSON {"root": "<RFC 3339>", ...}, so the
-- pages can show trust freshness (expiry against the archive's time) without the metadata.
ALTER TABLE tuf_repositories ADD COLUMN role_expiries TEXT;
