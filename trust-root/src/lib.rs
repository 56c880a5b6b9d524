//! What Airlock trusts, and checking evidence against it.
//!
//! **Invariant:** this crate does no network I/O, never reads the clock (every check takes the
//! time it is judged at as a parameter) and knows nothing of databases or HTTP.

mod tuf;

pub use tuf::{
    LocalRepository, RepositoryName, Role, RoleRecord, RoleStatus, TRUSTED_ROOT_TARGET, TrustState,
    TrustStates, TufError, VerifiedRepository, VerifiedTarget,
};
