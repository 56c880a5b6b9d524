//! `/admin/…` (admins only): trusted signers, the policy document, publishers and their keys,
//! users, and clearing alarms. Every change goes through [`crate::admin`], which writes it
//! with its audit row in one transaction. A change that worked is answered `303 See Other`
//! back to its page; one that was refused shows the page again with why.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError as _, web};
use airlock_web::{
    AdminTab, Chrome, Generated, PolicyPage, PublisherKeyLine, PublisherLine, PublishersPage,
    Section, SignerForm, SignerLine, SignersPage, Template, Text, UserLine, UsersPage, Viewer,
};
use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use serde::Deserialize;

use super::{CsrfForm, PageError, Posted, Signed, Visitor, blocking, html, html_with, see_other};
use crate::admin;
use crate::appliance::Appliance;
use crate::auth;
use crate::http::AppState;
use crate::policy::{PolicyDocument, SignerSpec};
use crate::policy_store;
use crate::settings::PUBLISHER_THRESHOLD;
use crate::store::{self, Role, SignerKind};

/// Registers the admin routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(index))
        .service(
            web::resource("/admin/signers")
                .route(web::get().to(signers))
                .route(web::post().to(add_signer)),
        )
        .route("/admin/signers/enabled", web::post().to(signer_enabled))
        .route("/admin/signers/expiry", web::post().to(signer_expiry))
        .service(
            web::resource("/admin/policy")
                .route(web::get().to(policy))
                .route(web::post().to(replace_policy)),
        )
        .service(
            web::resource("/admin/publishers")
                .route(web::get().to(publishers))
                .route(web::post().to(add_publisher_key)),
        )
        .route(
            "/admin/publishers/enabled",
            web::post().to(publisher_key_enabled),
        )
        .route(
            "/admin/publishers/threshold",
            web::post().to(publisher_threshold),
        )
        .service(
            web::resource("/admin/users")
                .route(web::get().to(users))
                .route(web::post().to(add_user)),
        )
        .route("/admin/users/enabled", web::post().to(user_enabled))
        .route("/admin/users/role", web::post().to(user_role))
        .route("/admin/users/password", web::post().to(user_password))
        .route("/admin/alarms/clear", web::post().to(clear_alarm));
}

/// Declares a form struct whose fields are all optional strings, with the CSRF token.
macro_rules! form {
    ($(#[$meta:meta])* $name:ident { $($field:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(default)]
        pub(super) struct $name {
            csrf: String,
            $($field: String,)*
        }

        impl CsrfForm for $name {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    };
}

form!(
    /// Adds a trusted signer.
    SignerAdd { name, kind, issuer, subject, subject_is_regex, public_key, expires_at }
);
form!(
    /// Enables or disables a signer.
    SignerEnabled { name, enabled }
);
form!(
    /// Sets or clears a signer's expiry.
    SignerExpiry { name, expires_at }
);
form!(
    /// Replaces the policy document.
    PolicyReplace { toml }
);
form!(
    /// Trusts a publisher key.
    PublisherKeyAdd { publisher, public_key }
);
form!(
    /// Enables or disables a publisher key.
    PublisherKeyEnabled { key_id, enabled }
);
form!(
    /// Sets the publisher signature threshold.
    Threshold { threshold }
);
form!(
    /// Adds a user.
    UserAdd { name, role, password }
);
form!(
    /// Enables or disables a user.
    UserEnabled { name, enabled }
);
form!(
    /// Changes a user's role.
    UserRole { name, role }
);
form!(
    /// Gives a user a new generated password.
    UserPassword { name }
);
form!(
    /// Clears an alarm.
    AlarmClear { id }
);

/// What a refused change shows: the page again, with the error and its status. Internal
/// failures stay the error page.
fn refused(e: PageError) -> Result<(StatusCode, String), PageError> {
    match e {
        PageError::BadRequest(_) | PageError::NotFound(_) | PageError::Conflict(_) => {
            Ok((e.status_code(), e.to_string()))
        }
        other => Err(other),
    }
}

/// `enabled=true|false`.
fn flag(value: &str, what: &str) -> Result<bool, PageError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(PageError::BadRequest(format!(
            "{what} must be true or false"
        ))),
    }
}

/// An optional expiry: empty, a date (midnight UTC) or an RFC 3339 time.
fn expiry(value: &str) -> Result<Option<DateTime<Utc>>, PageError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            PageError::BadRequest(format!(
                "the expiry {:?} is not a date (YYYY-MM-DD) or an RFC 3339 time",
                value
            ))
        })
}

/// A field, or `None` when empty.
fn given(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// Text from a textarea: browsers send CRLF line ends.
fn unix_lines(value: &str) -> String {
    value.replace("\r\n", "\n")
}

/// An admin's page request: the session authenticated and the role checked, off the workers.
async fn admit_page(state: &AppState, signed: Signed) -> Result<Viewer, PageError> {
    blocking(state, move |app| {
        Ok(signed.open(app, Role::Admin)?.viewer())
    })
    .await
}

/// An admin's form: the session authenticated, its CSRF token and the role checked.
async fn admit<T: CsrfForm + Send + 'static>(
    state: &AppState,
    posted: Posted<T>,
) -> Result<(Visitor, T), PageError> {
    blocking(state, move |app| {
        let visitor = posted.open(app, Role::Admin)?;
        Ok((visitor, posted.form))
    })
    .await
}

async fn index(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    admit_page(&state, signed).await?;
    Ok(see_other("/admin/signers"))
}

// ---------------------------------------------------------------------------------------
// Signers

fn signers_page(
    app: &Appliance,
    viewer: Viewer,
    form: SignerForm,
    error: Option<String>,
) -> Result<String, PageError> {
    let now = app.now();
    let rows = store::signers::list(app.store().read())?;
    let signers = rows
        .iter()
        .map(|r| {
            let active = policy_store::spec_of(r).is_ok_and(|s| s.is_active(now));
            SignerLine {
                name: Text::new(r.name.clone()),
                kind: match r.kind {
                    SignerKind::Keyless => "keyless".into(),
                    SignerKind::Key => "key".into(),
                },
                issuer: r.issuer.clone().map(Text::new),
                subject: r.subject.clone().map(Text::new),
                subject_is_regex: r.subject_is_regex,
                public_key: r.public_key.clone().map(Text::new),
                enabled: r.enabled,
                expires_at: r.expires_at.clone(),
                active,
            }
        })
        .collect();
    Ok(SignersPage {
        chrome: Chrome::new("Trusted signers", viewer, Section::Admin),
        tab: AdminTab::Signers,
        signers,
        form,
        error: error.map(Text::new),
    }
    .render()?)
}

async fn signers(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let viewer = admit_page(&state, signed).await?;
    let body = blocking(&state, move |app| {
        signers_page(app, viewer, SignerForm::default(), None)
    })
    .await?;
    Ok(html(body))
}

fn signer_spec(f: &SignerAdd) -> Result<SignerSpec, PageError> {
    let keyless = f.kind != "key";
    let subject = given(&f.subject);
    let regex = f.subject_is_regex == "true";
    Ok(SignerSpec {
        name: f.name.trim().to_owned(),
        issuer: if keyless { given(&f.issuer) } else { None },
        subject: if keyless && !regex {
            subject.clone()
        } else {
            None
        },
        subject_regex: if keyless && regex { subject } else { None },
        public_key: if keyless {
            None
        } else {
            given(&unix_lines(&f.public_key))
        },
        enabled: true,
        expires_at: expiry(&f.expires_at)?,
    })
}

async fn add_signer(
    state: web::Data<AppState>,
    posted: Posted<SignerAdd>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    let outcome = blocking(&state, move |app| {
        let done = signer_spec(&f).and_then(|spec| Ok(admin::add_signer(app, &actor, &spec)?));
        match done.map_err(refused) {
            Ok(()) => Ok(None),
            Err(Err(internal)) => Err(internal),
            Err(Ok((status, error))) => {
                let form = SignerForm {
                    name: Text::new(f.name.clone()),
                    kind: if f.kind == "key" { "key" } else { "keyless" }.into(),
                    issuer: Text::new(f.issuer.clone()),
                    subject: Text::new(f.subject.clone()),
                    subject_is_regex: f.subject_is_regex == "true",
                    public_key: Text::new(unix_lines(&f.public_key)),
                    expires_at: Text::new(f.expires_at.clone()),
                };
                Ok(Some((
                    status,
                    signers_page(app, viewer, form, Some(error))?,
                )))
            }
        }
    })
    .await?;
    Ok(match outcome {
        None => see_other("/admin/signers"),
        Some((status, body)) => html_with(status, body),
    })
}

/// Runs an admin change; on a refusal, renders `page` again with the error.
async fn change<F, P>(
    state: &AppState,
    viewer: Viewer,
    back: &'static str,
    apply: F,
    page: P,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(&Appliance) -> Result<(), PageError> + Send + 'static,
    P: FnOnce(&Appliance, Viewer, String) -> Result<String, PageError> + Send + 'static,
{
    let outcome = blocking(state, move |app| match apply(app).map_err(refused) {
        Ok(()) => Ok(None),
        Err(Err(internal)) => Err(internal),
        Err(Ok((status, error))) => Ok(Some((status, page(app, viewer, error)?))),
    })
    .await?;
    Ok(match outcome {
        None => see_other(back),
        Some((status, body)) => html_with(status, body),
    })
}

async fn signer_enabled(
    state: web::Data<AppState>,
    posted: Posted<SignerEnabled>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/signers",
        move |app| {
            let enabled = flag(&f.enabled, "enabled")?;
            Ok(admin::set_signer_enabled(app, &actor, &f.name, enabled)?)
        },
        |app, viewer, error| signers_page(app, viewer, SignerForm::default(), Some(error)),
    )
    .await
}

async fn signer_expiry(
    state: web::Data<AppState>,
    posted: Posted<SignerExpiry>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/signers",
        move |app| {
            let at = expiry(&f.expires_at)?;
            Ok(admin::set_signer_expiry(app, &actor, &f.name, at)?)
        },
        |app, viewer, error| signers_page(app, viewer, SignerForm::default(), Some(error)),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Policy

fn policy_page(
    app: &Appliance,
    viewer: Viewer,
    submitted: Option<String>,
    error: Option<String>,
) -> Result<String, PageError> {
    let toml = match submitted {
        Some(text) => text,
        None => admin::export_policy(app)?.to_toml(),
    };
    Ok(PolicyPage {
        chrome: Chrome::new("Policy", viewer, Section::Admin),
        tab: AdminTab::Policy,
        toml: Text::new(toml),
        error: error.map(Text::new),
    }
    .render()?)
}

async fn policy(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let viewer = admit_page(&state, signed).await?;
    let body = blocking(&state, move |app| policy_page(app, viewer, None, None)).await?;
    Ok(html(body))
}

async fn replace_policy(
    state: web::Data<AppState>,
    posted: Posted<PolicyReplace>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    let text = unix_lines(&f.toml);
    let kept = text.clone();
    change(
        &state,
        viewer,
        "/admin/policy",
        move |app| {
            let doc = PolicyDocument::from_toml(&text)
                .map_err(|e| PageError::BadRequest(e.to_string()))?;
            Ok(admin::import_policy(app, &actor, &doc)?)
        },
        move |app, viewer, error| policy_page(app, viewer, Some(kept), Some(error)),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Publishers

fn publishers_page(
    app: &Appliance,
    viewer: Viewer,
    error: Option<String>,
) -> Result<String, PageError> {
    let (publishers, keys, threshold) = {
        let store = app.store();
        let conn = store.read();
        (
            store::publishers::list(conn)?,
            store::publishers::keys(conn)?,
            store::settings::get(conn, PUBLISHER_THRESHOLD)?,
        )
    };
    Ok(PublishersPage {
        chrome: Chrome::new("Publishers", viewer, Section::Admin),
        tab: AdminTab::Publishers,
        publishers: publishers
            .iter()
            .map(|p| PublisherLine {
                name: Text::new(p.name.clone()),
                last_sequence: p.last_sequence,
            })
            .collect(),
        keys: keys
            .iter()
            .map(|k| PublisherKeyLine {
                key_id: k.key_id.clone(),
                publisher: Text::new(k.publisher.clone()),
                enabled: k.enabled,
            })
            .collect(),
        threshold: threshold.and_then(|t| t.parse().ok()).unwrap_or(1),
        error: error.map(Text::new),
    }
    .render()?)
}

async fn publishers(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let viewer = admit_page(&state, signed).await?;
    let body = blocking(&state, move |app| publishers_page(app, viewer, None)).await?;
    Ok(html(body))
}

/// An ed25519 `PUBLIC KEY` PEM (a publisher's `NAME.pub`).
fn publisher_key(pem: &str) -> Result<VerifyingKey, PageError> {
    let key = VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|e| PageError::BadRequest(format!("not an ed25519 PUBLIC KEY PEM: {e}")))?;
    if key.is_weak() {
        return Err(PageError::BadRequest(
            "the key is a small-order (weak) point".into(),
        ));
    }
    Ok(key)
}

async fn add_publisher_key(
    state: web::Data<AppState>,
    posted: Posted<PublisherKeyAdd>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/publishers",
        move |app| {
            let key = publisher_key(&unix_lines(&f.public_key))?;
            admin::add_publisher_key(app, &actor, f.publisher.trim(), &key)?;
            Ok(())
        },
        |app, viewer, error| publishers_page(app, viewer, Some(error)),
    )
    .await
}

async fn publisher_key_enabled(
    state: web::Data<AppState>,
    posted: Posted<PublisherKeyEnabled>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/publishers",
        move |app| {
            let enabled = flag(&f.enabled, "enabled")?;
            Ok(admin::set_publisher_key_enabled(
                app, &actor, &f.key_id, enabled,
            )?)
        },
        |app, viewer, error| publishers_page(app, viewer, Some(error)),
    )
    .await
}

async fn publisher_threshold(
    state: web::Data<AppState>,
    posted: Posted<Threshold>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/publishers",
        move |app| {
            let n: usize = f.threshold.trim().parse().map_err(|_| {
                PageError::BadRequest("the threshold must be a whole number".into())
            })?;
            Ok(admin::set_publisher_threshold(app, &actor, n)?)
        },
        |app, viewer, error| publishers_page(app, viewer, Some(error)),
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Users

fn users_page(
    app: &Appliance,
    viewer: Viewer,
    generated: Option<Generated>,
    error: Option<String>,
) -> Result<String, PageError> {
    let rows = store::users::list(app.store().read())?;
    Ok(UsersPage {
        chrome: Chrome::new("Users", viewer, Section::Admin),
        tab: AdminTab::Users,
        users: rows
            .iter()
            .map(|u| UserLine {
                name: Text::new(u.name.clone()),
                role: u.role.as_str().to_owned(),
                enabled: u.enabled,
                failed_logins: u.failed_logins,
                locked_until: u.locked_until.clone(),
            })
            .collect(),
        generated,
        error: error.map(Text::new),
    }
    .render()?)
}

async fn users(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    let viewer = admit_page(&state, signed).await?;
    let body = blocking(&state, move |app| users_page(app, viewer, None, None)).await?;
    Ok(html(body))
}

fn role(value: &str) -> Result<Role, PageError> {
    Role::parse(value)
        .ok_or_else(|| PageError::BadRequest("the role must be auditor, operator or admin".into()))
}

/// Adds a user. A generated password is shown once, on the page this POST answers (so it is
/// not a redirect).
async fn add_user(
    state: web::Data<AppState>,
    posted: Posted<UserAdd>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    let (status, body) = blocking(&state, move |app| {
        let name = f.name.trim().to_owned();
        let done = role(&f.role).and_then(|role| {
            Ok(admin::add_user(
                app,
                &actor,
                &name,
                role,
                given(&f.password).as_deref(),
            )?)
        });
        match done.map_err(refused) {
            Ok(password) => {
                let generated = password.map(|password| Generated {
                    name: Text::new(name),
                    password,
                });
                Ok((StatusCode::OK, users_page(app, viewer, generated, None)?))
            }
            Err(Err(internal)) => Err(internal),
            Err(Ok((status, error))) => Ok((status, users_page(app, viewer, None, Some(error))?)),
        }
    })
    .await?;
    Ok(html_with(status, body))
}

async fn user_enabled(
    state: web::Data<AppState>,
    posted: Posted<UserEnabled>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/users",
        move |app| {
            let enabled = flag(&f.enabled, "enabled")?;
            Ok(admin::set_user_enabled(app, &actor, &f.name, enabled)?)
        },
        |app, viewer, error| users_page(app, viewer, None, Some(error)),
    )
    .await
}

async fn user_role(
    state: web::Data<AppState>,
    posted: Posted<UserRole>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    change(
        &state,
        viewer,
        "/admin/users",
        move |app| Ok(admin::set_role(app, &actor, &f.name, role(&f.role)?)?),
        |app, viewer, error| users_page(app, viewer, None, Some(error)),
    )
    .await
}

/// Gives a user a new generated password (ending their sessions), shown once.
async fn user_password(
    state: web::Data<AppState>,
    posted: Posted<UserPassword>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let (viewer, actor) = (visitor.viewer(), visitor.actor());
    let name = f.name;
    let (status, body) = blocking(&state, move |app| {
        let password = auth::generate_password();
        match admin::set_password(app, &actor, &name, &password)
            .map_err(PageError::from)
            .map_err(refused)
        {
            Ok(()) => {
                let generated = Generated {
                    name: Text::new(name),
                    password,
                };
                Ok((
                    StatusCode::OK,
                    users_page(app, viewer, Some(generated), None)?,
                ))
            }
            Err(Err(internal)) => Err(internal),
            Err(Ok((status, error))) => Ok((status, users_page(app, viewer, None, Some(error))?)),
        }
    })
    .await?;
    Ok(html_with(status, body))
}

// ---------------------------------------------------------------------------------------
// Alarms

async fn clear_alarm(
    state: web::Data<AppState>,
    posted: Posted<AlarmClear>,
) -> Result<HttpResponse, PageError> {
    let (visitor, f) = admit(&state, posted).await?;
    let actor = visitor.actor();
    let id: i64 =
        f.id.trim()
            .parse()
            .map_err(|_| PageError::BadRequest("no such alarm".into()))?;
    blocking(&state, move |app| Ok(admin::clear_alarm(app, &actor, id)?)).await?;
    Ok(see_other("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_keyless_signer_form_becomes_exact_or_pattern_specs() {
        let mut f = SignerAdd {
            name: " ci ".into(),
            kind: "keyless".into(),
            issuer: "https://issuer".into(),
            subject: "https://subject".into(),
            public_key: "ignored".into(),
            ..SignerAdd::default()
        };
        let spec = signer_spec(&f).unwrap();
        assert_eq!(spec.name, "ci");
        assert_eq!(spec.subject.as_deref(), Some("https://subject"));
        assert_eq!((spec.subject_regex, spec.public_key), (None, None));
        f.subject_is_regex = "true".into();
        let spec = signer_spec(&f).unwrap();
        assert_eq!(
            (spec.subject, spec.subject_regex.as_deref()),
            (None, Some("https://subject"))
        );
        f.kind = "key".into();
        f.public_key = "-----BEGIN PUBLIC KEY-----\r\nx\r\n".into();
        let spec = signer_spec(&f).unwrap();
        assert_eq!(spec.issuer, None);
        assert_eq!(
            spec.public_key.as_deref(),
            Some("-----BEGIN PUBLIC KEY-----\nx")
        );
    }

    #[test]
    fn expiries_flags_and_roles_parse_strictly() {
        assert_eq!(expiry("").unwrap(), None);
        assert_eq!(
            expiry("2027-01-01").unwrap().unwrap().to_rfc3339(),
            "2027-01-01T00:00:00+00:00"
        );
        assert!(expiry("2027-01-01T00:00:00+02:00").unwrap().is_some());
        assert!(matches!(expiry("next year"), Err(PageError::BadRequest(_))));
        assert!(flag("true", "enabled").unwrap());
        assert!(!flag("false", "enabled").unwrap());
        assert!(flag("yes", "enabled").is_err());
        assert_eq!(role("operator").unwrap(), Role::Operator);
        assert!(role("root").is_err());
        assert!(publisher_key("garbage").is_err());
    }
}
