//! The policy in force: the policy TOML in settings plus the signers table, as one
//! [`PolicyDocument`] (what `policy export` writes and `policy import` replaces).

use airlock_trust_root::SignerPolicy;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::policy::{Policy, PolicyDocument, PolicyError, SignerSpec};
use crate::store::{self, NewSigner, SignerKind, SignerRow, StoreError, Tx};

/// The setting that holds the policy TOML (without signers).
pub const POLICY_SETTING: &str = "policy";

/// Why the stored policy could not be read or replaced.
#[derive(Debug, thiserror::Error)]
pub enum PolicyStoreError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored or offered policy breaks a rule.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// A trusted signer ready for the verifier.
#[derive(Debug, Clone)]
pub(crate) struct NamedSigner {
    /// Its name (reports say which signer matched).
    pub name: String,
    /// What the verifier checks.
    pub policy: SignerPolicy,
}

/// A stored signer as a policy document entry.
pub(crate) fn spec_of(row: &SignerRow) -> Result<SignerSpec, StoreError> {
    let expires_at = row
        .expires_at
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt {
                    what: format!("signer {} expires_at", row.name),
                    reason: e.to_string(),
                })
        })
        .transpose()?;
    let (subject, subject_regex) = match (&row.subject, row.subject_is_regex) {
        (Some(s), true) => (None, Some(s.clone())),
        (s, false) => (s.clone(), None),
        (None, true) => (None, None),
    };
    Ok(SignerSpec {
        name: row.name.clone(),
        issuer: row.issuer.clone(),
        subject,
        subject_regex,
        public_key: row.public_key.clone(),
        enabled: row.enabled,
        expires_at,
    })
}

/// The policy document in force.
pub(crate) fn document(conn: &Connection) -> Result<PolicyDocument, PolicyStoreError> {
    let policy = match store::settings::get(conn, POLICY_SETTING)? {
        Some(text) => Policy::from_toml(&text)?,
        None => Policy::strict(),
    };
    let signers = store::signers::list(conn)?
        .iter()
        .map(spec_of)
        .collect::<Result<_, _>>()?;
    Ok(PolicyDocument { policy, signers })
}

/// The signers trusted at `at` (enabled, not expired), compiled for the verifier.
pub(crate) fn signer_policies(
    conn: &Connection,
    at: DateTime<Utc>,
) -> Result<Vec<NamedSigner>, PolicyStoreError> {
    store::signers::list(conn)?
        .iter()
        .map(spec_of)
        .filter(|spec| spec.as_ref().map_or(true, |s| s.is_active(at)))
        .map(|spec| {
            let spec = spec?;
            Ok(NamedSigner {
                policy: spec.signer_policy()?,
                name: spec.name,
            })
        })
        .collect()
}

/// Adds one signer (validated first).
pub(crate) fn add_signer(
    tx: &Tx<'_>,
    spec: &SignerSpec,
    now: DateTime<Utc>,
) -> Result<i64, PolicyStoreError> {
    spec.validate()?;
    let (subject, is_regex) = match (&spec.subject, &spec.subject_regex) {
        (Some(s), _) => (Some(s.as_str()), false),
        (None, Some(r)) => (Some(r.as_str()), true),
        (None, None) => (None, false),
    };
    Ok(store::signers::add(
        tx,
        &NewSigner {
            name: &spec.name,
            kind: if spec.public_key.is_some() {
                SignerKind::Key
            } else {
                SignerKind::Keyless
            },
            issuer: spec.issuer.as_deref(),
            subject,
            subject_is_regex: is_regex,
            public_key: spec.public_key.as_deref(),
            enabled: spec.enabled,
            expires_at: spec.expires_at,
        },
        now,
    )?)
}

/// Replaces the policy and every signer with `doc` (validated first).
pub(crate) fn replace(
    tx: &Tx<'_>,
    doc: &PolicyDocument,
    now: DateTime<Utc>,
) -> Result<(), PolicyStoreError> {
    doc.validate()?;
    store::settings::set(tx, POLICY_SETTING, &doc.policy.to_toml())?;
    store::signers::delete_all(tx)?;
    for spec in &doc.signers {
        add_signer(tx, spec, now)?;
    }
    Ok(())
}
