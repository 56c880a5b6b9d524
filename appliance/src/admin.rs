//! Admin actions shared by the CLI and the admin pages: users, publishers, signers, policy,
//! settings and alarms. Each change is one transaction that also appends its audit row.

use airlock_bundler::keys::KeyId;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;

use crate::appliance::Appliance;
use crate::audit::{self, Event};
use crate::auth::{self, AuthError};
use crate::lock::LockError;
use crate::policy::{PolicyDocument, SignerSpec};
use crate::policy_store::{self, PolicyStoreError};
use crate::store::{self, Role, StoreError, Tx};

/// Why an admin action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The policy or a signer breaks a rule.
    #[error(transparent)]
    Policy(#[from] PolicyStoreError),
    /// Hashing a password.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The thing to change does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A bad value.
    #[error("{0}")]
    Invalid(String),
    /// The change would leave no enabled admin.
    #[error("user {0} is the last enabled admin: add or enable another admin first")]
    LastAdmin(String),
    /// Another process is writing to the data folder.
    #[error(transparent)]
    Locked(#[from] LockError),
}

/// The audit row a change is recorded by.
struct Record<'a> {
    action: &'a str,
    subject: std::borrow::Cow<'a, str>,
    detail: serde_json::Value,
}

fn record<'a>(
    action: &'a str,
    subject: impl Into<std::borrow::Cow<'a, str>>,
    detail: serde_json::Value,
) -> Record<'a> {
    Record {
        action,
        subject: subject.into(),
        detail,
    }
}

/// Runs `change` in one transaction together with the audit row it returns, holding the data
/// folder's writer lock.
fn audited<'r>(
    app: &Appliance,
    actor: &str,
    change: impl FnOnce(&Tx<'_>, DateTime<Utc>) -> Result<Record<'r>, AdminError>,
) -> Result<(), AdminError> {
    let _writer = app.writer_lock()?;
    let now = app.now();
    app.store().write(|tx| {
        let r = change(tx, now)?;
        audit::append(
            tx,
            now,
            &Event {
                actor,
                action: r.action,
                subject: &r.subject,
                detail: r.detail,
            },
        )?;
        Ok(())
    })
}

/// `NotFound(what)` unless the change found its row.
fn found(changed: bool, what: impl FnOnce() -> String) -> Result<(), AdminError> {
    if changed {
        Ok(())
    } else {
        Err(AdminError::NotFound(what()))
    }
}

/// Adds a user; returns the generated password when none was given.
pub fn add_user(
    app: &Appliance,
    actor: &str,
    name: &str,
    role: Role,
    password: Option<&str>,
) -> Result<Option<String>, AdminError> {
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "a user name must be 1 to 64 characters without control characters".into(),
        ));
    }
    let generated = password.is_none().then(auth::generate_password);
    let hash = auth::hash_password(password.or(generated.as_deref()).unwrap_or_default())?;
    audited(app, actor, |tx, now| {
        store::users::add(tx, name, role, &hash, now)?;
        Ok(record(
            "user.added",
            name,
            serde_json::json!({"role": role.as_str()}),
        ))
    })?;
    Ok(generated)
}

/// Enables or disables a user (disabling ends their sessions).
pub fn set_user_enabled(
    app: &Appliance,
    actor: &str,
    name: &str,
    enabled: bool,
) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        found(store::users::set_enabled(tx, name, enabled)?, || {
            format!("user {name}")
        })?;
        keep_an_admin(tx, name)?;
        if !enabled && let Some(user) = store::users::by_name(tx, name)? {
            store::users::delete_sessions_of(tx, user.id)?;
        }
        let action = if enabled {
            "user.enabled"
        } else {
            "user.disabled"
        };
        Ok(record(action, name, serde_json::json!({})))
    })
}

/// Sets a user's password (ending their sessions).
pub fn set_password(
    app: &Appliance,
    actor: &str,
    name: &str,
    password: &str,
) -> Result<(), AdminError> {
    let hash = auth::hash_password(password)?;
    audited(app, actor, |tx, _| {
        found(store::users::set_password(tx, name, &hash)?, || {
            format!("user {name}")
        })?;
        if let Some(user) = store::users::by_name(tx, name)? {
            store::users::delete_sessions_of(tx, user.id)?;
        }
        Ok(record("user.password", name, serde_json::json!({})))
    })
}

/// Changes a user's role.
pub fn set_role(app: &Appliance, actor: &str, name: &str, role: Role) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        found(store::users::set_role(tx, name, role)?, || {
            format!("user {name}")
        })?;
        keep_an_admin(tx, name)?;
        Ok(record(
            "user.role",
            name,
            serde_json::json!({"role": role.as_str()}),
        ))
    })
}

/// Refuses a change (made in `tx`, rolled back with it) that left no enabled admin: nobody
/// could then manage users, publishers or policy from the pages.
fn keep_an_admin(tx: &Tx<'_>, name: &str) -> Result<(), AdminError> {
    if store::users::enabled_admins(tx)? == 0 {
        return Err(AdminError::LastAdmin(name.to_owned()));
    }
    Ok(())
}

/// Forgets a publisher's last accepted sequence number, so that its next archive may carry
/// any (for a publisher whose counter was reset, or one that reached the largest value).
pub fn reset_publisher_sequence(
    app: &Appliance,
    actor: &str,
    publisher: &str,
) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        let previous = store::publishers::get(tx, publisher)?
            .ok_or_else(|| AdminError::NotFound(format!("publisher {publisher}")))?
            .last_sequence;
        store::publishers::reset_sequence(tx, publisher)?;
        Ok(record(
            "publisher.sequence_reset",
            publisher,
            serde_json::json!({"previous": previous}),
        ))
    })
}

/// Trusts a publisher key (adding the publisher if new); returns its key id.
pub fn add_publisher_key(
    app: &Appliance,
    actor: &str,
    publisher: &str,
    key: &VerifyingKey,
) -> Result<KeyId, AdminError> {
    if publisher.is_empty() || publisher.len() > 255 || publisher.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "a publisher name must be 1 to 255 characters without control characters".into(),
        ));
    }
    let key_id = KeyId::of(key);
    audited(app, actor, |tx, now| {
        store::publishers::ensure(tx, publisher, now)?;
        store::publishers::add_key(tx, publisher, key_id.as_str(), key.as_bytes(), now)?;
        Ok(record(
            "publisher.key_added",
            publisher,
            serde_json::json!({"key_id": key_id.as_str()}),
        ))
    })?;
    Ok(key_id)
}

/// Enables or disables a publisher key.
pub fn set_publisher_key_enabled(
    app: &Appliance,
    actor: &str,
    key_id: &str,
    enabled: bool,
) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        found(
            store::publishers::set_key_enabled(tx, key_id, enabled)?,
            || format!("publisher key {key_id}"),
        )?;
        let action = if enabled {
            "publisher.key_enabled"
        } else {
            "publisher.key_disabled"
        };
        Ok(record(action, key_id, serde_json::json!({})))
    })
}

/// Sets how many trusted publisher keys must sign an archive.
pub fn set_publisher_threshold(
    app: &Appliance,
    actor: &str,
    threshold: usize,
) -> Result<(), AdminError> {
    if threshold == 0 {
        return Err(AdminError::Invalid(
            "the threshold must be at least 1".into(),
        ));
    }
    set_setting(
        app,
        actor,
        crate::settings::PUBLISHER_THRESHOLD,
        &threshold.to_string(),
    )
}

/// A change to the storage quotas; `None` leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaChange {
    /// The largest archive imported (upload, inbox or CLI), all parts together, in bytes.
    pub max_archive_bytes: Option<u64>,
    /// Keep rejected archives whole (`true`) or only their first MiB with their size and
    /// SHA-256 (`false`, the default).
    pub keep_rejected_whole: Option<bool>,
    /// The most bytes rejected archives kept whole may take together.
    pub rejected_max_total_bytes: Option<u64>,
}

/// The storage quotas in force.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Quotas {
    /// The largest archive imported, in bytes.
    pub max_archive_bytes: u64,
    /// Whether rejected archives are kept whole.
    pub keep_rejected_whole: bool,
    /// The room for rejected archives kept whole, in bytes.
    pub rejected_max_total_bytes: u64,
    /// How much of it they take now.
    pub rejected_kept_whole_bytes: u64,
}

/// The storage quotas in force.
pub fn quotas(app: &Appliance) -> Result<Quotas, AdminError> {
    let max_archive_bytes =
        crate::settings::max_archive_bytes(app).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let settings =
        crate::settings::Settings::load(app).map_err(|e| AdminError::Invalid(e.to_string()))?;
    Ok(Quotas {
        max_archive_bytes,
        keep_rejected_whole: settings.keep_rejected_whole,
        rejected_max_total_bytes: settings.rejected_max_total,
        rejected_kept_whole_bytes: store::imports::rejected_kept_whole_bytes(app.store().read())?,
    })
}

/// Changes the storage quotas, each one a setting with its audit row.
pub fn set_quotas(app: &Appliance, actor: &str, change: &QuotaChange) -> Result<(), AdminError> {
    if change.max_archive_bytes == Some(0) {
        return Err(AdminError::Invalid(
            "the largest archive must be at least 1 byte".into(),
        ));
    }
    if let Some(bytes) = change.max_archive_bytes {
        set_setting(
            app,
            actor,
            crate::settings::MAX_ARCHIVE_BYTES,
            &bytes.to_string(),
        )?;
    }
    if let Some(whole) = change.keep_rejected_whole {
        set_setting(
            app,
            actor,
            crate::settings::KEEP_REJECTED_WHOLE,
            &whole.to_string(),
        )?;
    }
    if let Some(bytes) = change.rejected_max_total_bytes {
        set_setting(
            app,
            actor,
            crate::settings::REJECTED_MAX_TOTAL,
            &bytes.to_string(),
        )?;
    }
    Ok(())
}

/// Sets a named setting.
pub fn set_setting(app: &Appliance, actor: &str, key: &str, value: &str) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        store::settings::set(tx, key, value)?;
        Ok(record(
            "setting.changed",
            key,
            serde_json::json!({"value": value}),
        ))
    })
}

/// Replaces the policy and the signers.
pub fn import_policy(app: &Appliance, actor: &str, doc: &PolicyDocument) -> Result<(), AdminError> {
    let text = doc.to_toml();
    audited(app, actor, |tx, now| {
        policy_store::replace(tx, doc, now)?;
        Ok(record(
            "policy.changed",
            "policy",
            serde_json::json!({"sha256": crate::audit::sha256_hex(text.as_bytes()), "signers": doc.signers.len()}),
        ))
    })
}

/// The policy document in force.
pub fn export_policy(app: &Appliance) -> Result<PolicyDocument, AdminError> {
    Ok(policy_store::document(app.store().read())?)
}

/// Adds a trusted signer.
pub fn add_signer(app: &Appliance, actor: &str, spec: &SignerSpec) -> Result<(), AdminError> {
    audited(app, actor, |tx, now| {
        policy_store::add_signer(tx, spec, now)?;
        Ok(record(
            "signer.added",
            &spec.name,
            serde_json::to_value(spec)
                .expect("invariant: a signer spec serializes (derived, string keys)"),
        ))
    })
}

/// Enables or disables a trusted signer.
pub fn set_signer_enabled(
    app: &Appliance,
    actor: &str,
    name: &str,
    enabled: bool,
) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        found(store::signers::set_enabled(tx, name, enabled)?, || {
            format!("signer {name}")
        })?;
        let action = if enabled {
            "signer.enabled"
        } else {
            "signer.disabled"
        };
        Ok(record(action, name, serde_json::json!({})))
    })
}

/// Sets or clears a signer's expiry.
pub fn set_signer_expiry(
    app: &Appliance,
    actor: &str,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), AdminError> {
    audited(app, actor, |tx, _| {
        found(store::signers::set_expiry(tx, name, expires_at)?, || {
            format!("signer {name}")
        })?;
        Ok(record(
            "signer.expiry",
            name,
            serde_json::json!({"expires_at": expires_at}),
        ))
    })
}

/// Clears an open alarm.
pub fn clear_alarm(app: &Appliance, actor: &str, id: i64) -> Result<(), AdminError> {
    let subject = id.to_string();
    audited(app, actor, |tx, now| {
        found(store::alarms::clear(tx, id, actor, now)?, || {
            format!("open alarm {id}")
        })?;
        Ok(record("alarm.cleared", &subject, serde_json::json!({})))
    })
}

/// What a new pull token may do.
#[derive(Debug, Clone, Default)]
pub struct PullTokenSpec {
    /// What it is for (shown in lists and the audit trail).
    pub name: String,
    /// A repository prefix it is limited to (`acme/` or `acme/tool`).
    pub scope: Option<String>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issues a read-only pull token for the site registry; returns its id and the token, which
/// is shown this once (only its SHA-256 is kept).
pub fn issue_pull_token(
    app: &Appliance,
    actor: &str,
    spec: &PullTokenSpec,
) -> Result<(i64, String), AdminError> {
    if spec.name.is_empty() || spec.name.len() > 64 || spec.name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "a pull token's name must be 1 to 64 characters without control characters".into(),
        ));
    }
    if let Some(scope) = &spec.scope
        && !crate::registry::valid_repository(scope.trim_end_matches('/'))
    {
        return Err(AdminError::Invalid(format!(
            "scope {scope:?} is not a repository name or prefix (lower-case, like acme/ or acme/tool)"
        )));
    }
    if let Some(expires) = spec.expires_at
        && expires <= app.now()
    {
        return Err(AdminError::Invalid(
            "a pull token's expiry must be in the future".into(),
        ));
    }
    let token = crate::registry::generate_token();
    let hash = crate::registry::token_hash(&token);
    let mut id = 0;
    audited(app, actor, |tx, now| {
        id = store::registry::add_token(
            tx,
            &store::registry::NewPullToken {
                name: &spec.name,
                token_sha256: &hash,
                scope: spec.scope.as_deref(),
                created_by: actor,
                expires_at: spec.expires_at,
            },
            now,
        )?;
        Ok(record(
            "pull_token.issued",
            &spec.name,
            serde_json::json!({
                "id": id,
                "scope": spec.scope,
                "expires_at": spec.expires_at.map(|t| t.to_rfc3339()),
            }),
        ))
    })?;
    Ok((id, token))
}

/// Revokes a pull token: requests carrying it are refused from now on.
pub fn revoke_pull_token(app: &Appliance, actor: &str, id: i64) -> Result<(), AdminError> {
    audited(app, actor, |tx, now| {
        found(store::registry::revoke_token(tx, id, actor, now)?, || {
            format!("live pull token {id}")
        })?;
        Ok(record(
            "pull_token.revoked",
            id.to_string(),
            serde_json::json!({}),
        ))
    })
}

/// Every pull token (never the tokens themselves).
pub fn pull_tokens(app: &Appliance) -> Result<Vec<store::registry::PullTokenRow>, AdminError> {
    Ok(store::registry::tokens(app.store().read())?)
}

/// Turns anonymous pull from the site registry on or off.
pub fn set_anonymous_pull(app: &Appliance, actor: &str, on: bool) -> Result<(), AdminError> {
    set_setting(
        app,
        actor,
        crate::settings::ANONYMOUS_PULL,
        if on { "true" } else { "false" },
    )
}

/// Withdraws a released artifact: the registry and downloads stop serving it. Its evidence,
/// verdict and signed summary stay as they were; the withdrawal is audited with its reason.
pub fn withdraw_artifact(
    app: &Appliance,
    actor: &str,
    artifact_id: i64,
    reason: &str,
) -> Result<(), AdminError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(AdminError::Invalid(
            "a withdrawal needs a reason of 1 to 1000 characters".into(),
        ));
    }
    audited(app, actor, |tx, now| {
        let artifact = store::artifacts::get(tx, artifact_id)?
            .ok_or_else(|| AdminError::NotFound(format!("artifact {artifact_id}")))?;
        if artifact.verdict == crate::report::Verdict::Failed {
            return Err(AdminError::Invalid(format!(
                "artifact {artifact_id} failed its checks and was never released"
            )));
        }
        if !store::registry::withdraw(tx, artifact_id, actor, reason, now)? {
            return Err(AdminError::Invalid(format!(
                "artifact {artifact_id} is already withdrawn"
            )));
        }
        Ok(record(
            "artifact.withdrawn",
            format!("{}/{}", artifact.import_id, artifact.position),
            serde_json::json!({
                "artifact": artifact.name,
                "digest": artifact.digest,
                "reason": reason,
            }),
        ))
    })
}
