-- 0004: signed heads of the audit chain. At every import and on demand (`audit sign-head`)
-- the appliance signs the newest row's position and hash with its key (a DSSE envelope);
-- `audit verify` checks the chain still holds that row with that hash, so a chain rewritten
-- or cut short by someone who can write the database is caught, here or by whoever keeps an
-- exported head.
CREATE TABLE audit_heads (
    id        INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    envelope  TEXT NOT NULL
);
