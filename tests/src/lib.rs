//! The testkit: a private Sigstore-like instance minting real-format fixtures (issue 4).
//!
//! Not built yet; it exports nothing until there is something real to export.
