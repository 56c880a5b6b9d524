//! Exceptions (waivers): admins release a failed, quarantined artifact for a while, with a
//! written justification and an expiry, and may revoke it. The CLI and the pages share these
//! functions; each change is one transaction holding the writer lock, with its audit row
//! (`exception.requested`, `exception.approved`, `exception.revoked`).
//!
//! **Nothing silently passes.** The artifact's verdict stays `failed` and its original VSA
//! stays on its row. An exception is a separate fact: when it becomes active a new VSA is
//! signed, still `verificationResult: FAILED`, recording the exception (see
//! `docs/exceptions.md`). What is served asks the registry module's `is_served`, which consults
//! the active exception at the time of the request, so expiry needs no writer.
//!
//! The policy's `[exceptions]` table says how many distinct admins must agree (1: the
//! requester's request is also its approval; 2: another admin approves) and how many days
//! ahead an expiry may be.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};

use crate::appliance::Appliance;
use crate::audit::{self, Event};
use crate::lock::LockError;
use crate::report::Verdict;
use crate::store::exceptions::{ExceptionRow, ExceptionState, NewException};
use crate::store::{self, Role, StoreError, Tx};

/// The longest justification, in characters.
pub const MAX_JUSTIFICATION: usize = 2000;
/// The longest revocation reason, in characters.
pub const MAX_REVOKE_REASON: usize = 1000;
/// The field of the VSA predicate that records an exception.
pub const VSA_FIELD: &str = "airlockException";

/// Why an exception could not be requested, approved or revoked.
#[derive(Debug, thiserror::Error)]
pub enum ExceptionError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another process is writing to the data folder.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The stored policy could not be read.
    #[error("policy: {0}")]
    Policy(String),
    /// The artifact or exception does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// Only enabled admins request, approve and revoke exceptions.
    #[error("user {0} is not an enabled admin")]
    NotAdmin(String),
    /// The artifact did not fail, so there is nothing to release by exception.
    #[error(
        "artifact {0} did not fail its checks: only a quarantined artifact can be released by exception"
    )]
    NotFailed(i64),
    /// The justification is empty or too long.
    #[error("an exception needs a justification of 1 to 2000 characters")]
    Justification,
    /// The expiry is not after now.
    #[error("the expiry {0} is not in the future")]
    ExpiryPast(String),
    /// The expiry is further ahead than the policy allows.
    #[error("the expiry {expires_at} is more than the policy's {max_days} days ahead")]
    ExpiryTooFar {
        /// The expiry asked for.
        expires_at: String,
        /// The policy's `exceptions.max_days`.
        max_days: u32,
    },
    /// The artifact already has a pending or active exception.
    #[error("artifact {artifact_id} already has {state} exception {id}")]
    AlreadyOpen {
        /// The artifact.
        artifact_id: i64,
        /// The open exception.
        id: i64,
        /// `pending` or `active`.
        state: &'static str,
    },
    /// With two approvals the approver must not be the requester.
    #[error(
        "exception {id} was requested by {requester}: the policy needs another admin to approve it"
    )]
    SameAdmin {
        /// The exception.
        id: i64,
        /// Who requested it (and tried to approve it).
        requester: String,
    },
    /// Only a pending exception can be approved.
    #[error("exception {id} is {state}, not pending")]
    NotPending {
        /// The exception.
        id: i64,
        /// Its state.
        state: &'static str,
    },
    /// Only a pending or active exception can be revoked.
    #[error("exception {id} is {state}: only a pending or active exception can be revoked")]
    NotRevocable {
        /// The exception.
        id: i64,
        /// Its state.
        state: &'static str,
    },
    /// The revocation reason is empty or too long.
    #[error("a revocation needs a reason of 1 to 1000 characters")]
    RevokeReason,
    /// The artifact's original VSA could not be read to derive the exception's.
    #[error("artifact {artifact_id}'s stored VSA: {reason}")]
    Vsa {
        /// The artifact.
        artifact_id: i64,
        /// What was wrong with it.
        reason: String,
    },
}

/// What an admin asks for.
#[derive(Debug, Clone)]
pub struct ExceptionRequest<'a> {
    /// The failed artifact.
    pub artifact_id: i64,
    /// Why it may be used anyway.
    pub justification: &'a str,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// Runs `change` in one transaction with the audit rows it returns. The caller holds the
/// writer lock.
fn audited<T>(
    app: &Appliance,
    actor: &str,
    change: impl FnOnce(&Tx<'_>, DateTime<Utc>) -> Result<(T, Vec<Recorded>), ExceptionError>,
) -> Result<T, ExceptionError> {
    let now = app.now();
    app.store().write(|tx| {
        let (value, records) = change(tx, now)?;
        for r in records {
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
        }
        Ok(value)
    })
}

/// One audit row to append.
struct Recorded {
    action: &'static str,
    subject: String,
    detail: serde_json::Value,
}

/// Refuses anyone but an enabled admin.
fn require_admin(tx: &Tx<'_>, actor: &str) -> Result<(), ExceptionError> {
    match store::users::by_name(tx, actor)? {
        Some(user) if user.enabled && user.role == Role::Admin => Ok(()),
        _ => Err(ExceptionError::NotAdmin(actor.to_owned())),
    }
}

/// The policy's exception rules in force.
fn rules(app: &Appliance) -> Result<crate::policy::ExceptionRules, ExceptionError> {
    crate::settings::Settings::load(app)
        .map(|s| s.policy.0.exceptions)
        .map_err(|e| ExceptionError::Policy(e.to_string()))
}

/// Checks a request's text and expiry against the rules at `now` (no database).
pub fn check_request(
    request: &ExceptionRequest<'_>,
    max_days: u32,
    now: DateTime<Utc>,
) -> Result<(), ExceptionError> {
    let length = request.justification.trim().chars().count();
    if length == 0 || length > MAX_JUSTIFICATION {
        return Err(ExceptionError::Justification);
    }
    let shown = request
        .expires_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if request.expires_at <= now {
        return Err(ExceptionError::ExpiryPast(shown));
    }
    if request.expires_at > now + Duration::days(i64::from(max_days)) {
        return Err(ExceptionError::ExpiryTooFar {
            expires_at: shown,
            max_days,
        });
    }
    Ok(())
}

/// Requests an exception for a failed artifact. When the policy needs one approval the
/// request is its own approval: the exception is active when this returns (two audit rows,
/// one transaction). With two, it waits for another admin ([`approve`]).
pub fn request(
    app: &Appliance,
    actor: &str,
    request: &ExceptionRequest<'_>,
) -> Result<ExceptionRow, ExceptionError> {
    let _writer = app.writer_lock()?;
    let rules = rules(app)?;
    let justification = request.justification.trim();
    audited(app, actor, |tx, now| {
        require_admin(tx, actor)?;
        check_request(request, rules.max_days, now)?;
        let id = request.artifact_id;
        let artifact = store::artifacts::get(tx, id)?
            .ok_or_else(|| ExceptionError::NotFound(format!("artifact {id}")))?;
        if artifact.verdict != Verdict::Failed {
            return Err(ExceptionError::NotFailed(id));
        }
        if let Some(open) = store::exceptions::of_artifact(tx, id)?
            .into_iter()
            .find(|e| {
                matches!(
                    e.state(now),
                    ExceptionState::Pending | ExceptionState::Active
                )
            })
        {
            return Err(ExceptionError::AlreadyOpen {
                artifact_id: id,
                id: open.id,
                state: open.state(now).as_str(),
            });
        }
        let exception_id = store::exceptions::request(
            tx,
            &NewException {
                artifact_id: id,
                justification,
                expires_at: request.expires_at,
                approvals: rules.approvals,
                requested_by: actor,
            },
            now,
        )?;
        let mut records = vec![Recorded {
            action: "exception.requested",
            subject: exception_id.to_string(),
            detail: serde_json::json!({
                "artifact_id": id,
                "artifact": artifact.name,
                "digest": artifact.digest,
                "justification": justification,
                "expires_at": stamp(request.expires_at),
                "approvals": rules.approvals,
            }),
        }];
        if rules.approvals == 1 {
            records.push(activate(app, tx, exception_id, actor, now)?);
        }
        let row = store::exceptions::get(tx, exception_id)?
            .ok_or_else(|| ExceptionError::NotFound(format!("exception {exception_id}")))?;
        Ok((row, records))
    })
}

/// Approves a pending exception (the second admin, when the policy needs two): it becomes
/// active and its VSA is signed.
pub fn approve(app: &Appliance, actor: &str, id: i64) -> Result<ExceptionRow, ExceptionError> {
    let _writer = app.writer_lock()?;
    audited(app, actor, |tx, now| {
        require_admin(tx, actor)?;
        let exception = store::exceptions::get(tx, id)?
            .ok_or_else(|| ExceptionError::NotFound(format!("exception {id}")))?;
        let state = exception.state(now);
        if state != ExceptionState::Pending {
            return Err(ExceptionError::NotPending {
                id,
                state: state.as_str(),
            });
        }
        if exception.approvals == 2 && exception.requested_by == actor {
            return Err(ExceptionError::SameAdmin {
                id,
                requester: exception.requested_by,
            });
        }
        let record = activate(app, tx, id, actor, now)?;
        let row = store::exceptions::get(tx, id)?
            .ok_or_else(|| ExceptionError::NotFound(format!("exception {id}")))?;
        Ok((row, vec![record]))
    })
}

/// Revokes a pending or active exception: from now on the artifact is not served.
pub fn revoke(
    app: &Appliance,
    actor: &str,
    id: i64,
    reason: &str,
) -> Result<ExceptionRow, ExceptionError> {
    let reason = reason.trim();
    let length = reason.chars().count();
    if length == 0 || length > MAX_REVOKE_REASON {
        return Err(ExceptionError::RevokeReason);
    }
    let _writer = app.writer_lock()?;
    audited(app, actor, |tx, now| {
        require_admin(tx, actor)?;
        let exception = store::exceptions::get(tx, id)?
            .ok_or_else(|| ExceptionError::NotFound(format!("exception {id}")))?;
        let state = exception.state(now);
        if !matches!(state, ExceptionState::Pending | ExceptionState::Active) {
            return Err(ExceptionError::NotRevocable {
                id,
                state: state.as_str(),
            });
        }
        store::exceptions::revoke(tx, id, actor, reason, now)?;
        let row = store::exceptions::get(tx, id)?
            .ok_or_else(|| ExceptionError::NotFound(format!("exception {id}")))?;
        Ok((
            row,
            vec![Recorded {
                action: "exception.revoked",
                subject: id.to_string(),
                detail: serde_json::json!({
                    "artifact_id": exception.artifact_id,
                    "was": state.as_str(),
                    "reason": reason,
                }),
            }],
        ))
    })
}

/// Marks `id` approved by `approver` with a newly signed VSA; the audit row that says so.
fn activate(
    app: &Appliance,
    tx: &Tx<'_>,
    id: i64,
    approver: &str,
    now: DateTime<Utc>,
) -> Result<Recorded, ExceptionError> {
    let exception = store::exceptions::get(tx, id)?
        .ok_or_else(|| ExceptionError::NotFound(format!("exception {id}")))?;
    let original = store::artifacts::vsa(tx, exception.artifact_id)?.unwrap_or_default();
    let statement =
        exception_statement(&original, &exception, approver, now).map_err(|reason| {
            ExceptionError::Vsa {
                artifact_id: exception.artifact_id,
                reason,
            }
        })?;
    let vsa = app.sign_dsse(crate::vsa::IN_TOTO_PAYLOAD_TYPE, &statement);
    if !store::exceptions::approve(tx, id, approver, &vsa, now)? {
        return Err(ExceptionError::NotPending {
            id,
            state: exception.state(now).as_str(),
        });
    }
    Ok(Recorded {
        action: "exception.approved",
        subject: id.to_string(),
        detail: serde_json::json!({
            "artifact_id": exception.artifact_id,
            "requested_by": exception.requested_by,
            "expires_at": stamp(exception.expires_at),
            "vsa_sha256": audit::sha256_hex(&vsa),
        }),
    })
}

/// The exception VSA's statement: the artifact's original statement, unchanged (so
/// `verificationResult` stays `FAILED`), with the predicate's [`VSA_FIELD`] recording the
/// exception. `original` is the DSSE envelope stored on the artifact's row.
pub fn exception_statement(
    original: &[u8],
    exception: &ExceptionRow,
    approver: &str,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    let envelope: serde_json::Value =
        serde_json::from_slice(original).map_err(|e| format!("envelope: {e}"))?;
    let payload = envelope
        .get("payload")
        .and_then(serde_json::Value::as_str)
        .ok_or("envelope: no payload")?;
    let payload = STANDARD
        .decode(payload)
        .map_err(|e| format!("payload: {e}"))?;
    let mut statement: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| format!("statement: {e}"))?;
    let predicate = statement
        .get_mut("predicate")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or("statement: no predicate")?;
    if predicate.get("verificationResult") != Some(&serde_json::json!("FAILED")) {
        return Err("statement: verificationResult is not FAILED".into());
    }
    let mut approvers = vec![exception.requested_by.clone()];
    if approver != exception.requested_by {
        approvers.push(approver.to_owned());
    }
    predicate.insert(
        VSA_FIELD.to_owned(),
        serde_json::json!({
            "id": exception.id,
            "justificationSha256": audit::sha256_hex(exception.justification.as_bytes()),
            "requestedBy": exception.requested_by,
            "approvers": approvers,
            "approvalsRequired": exception.approvals,
            "issuedAt": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "expiresAt": exception.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }),
    );
    serde_json::to_vec(&statement).map_err(|e| format!("statement: {e}"))
}

/// The VSA that speaks for the artifact at `now`: its active exception's, else its own.
pub fn current_vsa(
    conn: &rusqlite::Connection,
    artifact_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Vec<u8>>, StoreError> {
    if let Some(active) = store::exceptions::active_of(conn, artifact_id, now)?
        && let Some(vsa) = store::exceptions::vsa(conn, active.id)?
    {
        return Ok(Some(vsa));
    }
    store::artifacts::vsa(conn, artifact_id)
}

/// Every exception, newest first.
pub fn list(app: &Appliance) -> Result<Vec<ExceptionRow>, ExceptionError> {
    Ok(store::exceptions::all(app.store().read())?)
}

/// A time as audited.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn asking<'a>(justification: &'a str, expires_at: &str) -> ExceptionRequest<'a> {
        ExceptionRequest {
            artifact_id: 1,
            justification,
            expires_at: at(expires_at),
        }
    }

    #[test]
    fn a_justification_of_1_to_2000_characters_and_an_expiry_within_max_days_is_accepted() {
        let now = at("2026-12-05T00:00:00Z");
        check_request(
            &asking("vendor fix pending", "2027-03-05T00:00:00Z"),
            90,
            now,
        )
        .unwrap();
        let longest = "é".repeat(MAX_JUSTIFICATION);
        check_request(&asking(&longest, "2026-12-06T00:00:00Z"), 90, now).unwrap();
    }

    #[test]
    fn an_empty_or_overlong_justification_is_refused_with_its_message() {
        let now = at("2026-12-05T00:00:00Z");
        for text in ["", "   \n", &"x".repeat(MAX_JUSTIFICATION + 1)] {
            let e = check_request(&asking(text, "2026-12-06T00:00:00Z"), 90, now).unwrap_err();
            assert!(matches!(e, ExceptionError::Justification), "{e:?}");
            assert_eq!(
                e.to_string(),
                "an exception needs a justification of 1 to 2000 characters"
            );
        }
    }

    #[test]
    fn an_expiry_now_or_in_the_past_is_refused() {
        let now = at("2026-12-05T00:00:00Z");
        let e = check_request(&asking("why", "2026-12-05T00:00:00Z"), 90, now).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the expiry 2026-12-05T00:00:00Z is not in the future"
        );
    }

    #[test]
    fn an_expiry_beyond_the_policys_max_days_is_refused() {
        let now = at("2026-12-05T00:00:00Z");
        check_request(&asking("why", "2026-12-12T00:00:00Z"), 7, now).unwrap();
        let e = check_request(&asking("why", "2026-12-12T00:00:01Z"), 7, now).unwrap_err();
        assert!(
            matches!(e, ExceptionError::ExpiryTooFar { max_days: 7, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "the expiry 2026-12-12T00:00:01Z is more than the policy's 7 days ahead"
        );
    }

    fn row(approved_by: Option<&str>, revoked: bool) -> ExceptionRow {
        ExceptionRow {
            id: 4,
            artifact_id: 1,
            justification: "vendor fix pending".into(),
            expires_at: at("2026-12-10T00:00:00Z"),
            approvals: 2,
            requested_by: "alice".into(),
            requested_at: "2026-12-05T00:00:00Z".into(),
            approved_by: approved_by.map(str::to_owned),
            approved_at: approved_by.map(|_| "2026-12-05T01:00:00Z".to_owned()),
            revoked_by: revoked.then(|| "carol".to_owned()),
            revoked_at: revoked.then(|| "2026-12-06T00:00:00Z".to_owned()),
            revoke_reason: revoked.then(|| "fixed upstream".to_owned()),
        }
    }

    #[test]
    fn the_state_is_derived_from_approval_revocation_and_the_time() {
        let before = at("2026-12-06T00:00:00Z");
        let after = at("2026-12-10T00:00:00Z");
        assert_eq!(row(None, false).state(before), ExceptionState::Pending);
        assert_eq!(
            row(Some("bob"), false).state(before),
            ExceptionState::Active
        );
        assert_eq!(
            row(Some("bob"), false).state(after),
            ExceptionState::Expired
        );
        assert_eq!(row(None, false).state(after), ExceptionState::Expired);
        assert_eq!(
            row(Some("bob"), true).state(before),
            ExceptionState::Revoked
        );
        assert_eq!(row(Some("bob"), true).state(after), ExceptionState::Revoked);
    }

    #[test]
    fn the_exception_statement_keeps_failed_and_records_the_exception() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let statement = crate::vsa::statement(&crate::vsa::Summary {
            name: "rogue.bin",
            digest: "ab",
            verifier_key_id: "k",
            time_verified: at("2026-12-05T00:00:00Z"),
            resource_uri: "urn:airlock:import:1:artifact:0".into(),
            policy_sha256: "cd",
            inputs: vec![],
            passed: false,
            build_level: 0,
        });
        let original =
            crate::appliance::sign_dsse(&key, crate::vsa::IN_TOTO_PAYLOAD_TYPE, &statement);
        let made = exception_statement(
            &original,
            &row(None, false),
            "bob",
            at("2026-12-05T01:00:00Z"),
        )
        .unwrap();
        let made: serde_json::Value = serde_json::from_slice(&made).unwrap();
        let predicate = &made["predicate"];
        assert_eq!(predicate["verificationResult"], "FAILED");
        assert_eq!(predicate["verifiedLevels"], serde_json::json!(["FAILED"]));
        let recorded = &predicate[VSA_FIELD];
        assert_eq!(recorded["approvers"], serde_json::json!(["alice", "bob"]));
        assert_eq!(recorded["expiresAt"], "2026-12-10T00:00:00Z");
        assert_eq!(
            recorded["justificationSha256"],
            audit::sha256_hex(b"vendor fix pending")
        );
    }

    #[test]
    fn a_passed_statement_is_never_given_an_exception() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let statement = crate::vsa::statement(&crate::vsa::Summary {
            name: "good.bin",
            digest: "ab",
            verifier_key_id: "k",
            time_verified: at("2026-12-05T00:00:00Z"),
            resource_uri: "urn:airlock:import:1:artifact:0".into(),
            policy_sha256: "cd",
            inputs: vec![],
            passed: true,
            build_level: 1,
        });
        let original =
            crate::appliance::sign_dsse(&key, crate::vsa::IN_TOTO_PAYLOAD_TYPE, &statement);
        assert_eq!(
            exception_statement(
                &original,
                &row(None, false),
                "bob",
                at("2026-12-05T01:00:00Z")
            )
            .unwrap_err(),
            "statement: verificationResult is not FAILED"
        );
    }
}
