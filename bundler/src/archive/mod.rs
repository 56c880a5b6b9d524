//! The `.airlock.tar.zst` archive format (see `docs/format.md`).
