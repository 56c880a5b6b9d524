//! TUF on local folders: verify carried metadata and targets as of a reference time the caller
//! passes, and never accept a repository state older than the one already trusted.
//!
//! tough verifies signatures, thresholds, root rotations, versions, hashes and lengths; its
//! wall-clock expiry check is disabled and replaced by [`LocalRepository::verify`]'s own check
//! of every role at the reference time. Rollback, freeze and equivocation are judged against a
//! [`TrustState`] the caller stores.

mod error;
mod load;
mod name;
mod role;
mod state;
mod transport;

pub use error::TufError;
pub use load::{
    LocalRepository, RepositoryFile, RepositoryFolder, RoleStatus, TRUSTED_ROOT_TARGET,
    VerifiedRepository, VerifiedTarget,
};
pub use name::RepositoryName;
pub use role::Role;
pub use state::{RoleRecord, TrustState, TrustStates};
