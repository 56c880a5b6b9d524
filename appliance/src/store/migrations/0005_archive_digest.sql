-- 0005: what the appliance keeps of each import's archive, so that `audit verify --deep` can
-- tell whether it changed: the SHA-256 of the archive as received (all parts in order), and
-- the size and SHA-256 of what is kept of it (the whole archive, or only its first MiB for a
-- rejected one unless rejected archives are kept whole).
ALTER TABLE imports ADD COLUMN archive_sha256 TEXT;
ALTER TABLE imports ADD COLUMN kept_bytes INTEGER;
ALTER TABLE imports ADD COLUMN kept_sha256 TEXT;
