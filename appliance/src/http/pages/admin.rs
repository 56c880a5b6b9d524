//! `/admin/…` (admins only): trusted signers, the policy document, publishers and their keys,
//! users, the registry, exceptions for failed artifacts, and clearing alarms. Every change goes through [`crate::admin`], which writes it
//! with its audit row in one transaction. A change that worked is answered `303 See Other`
//! back to its page; one that was refused shows the page again with why.
//!
//! Every change is a row of [`ACTIONS`]: its URL, the role it needs, its form, the change
//! itself, where it goes back to and what a refusal shows. One handler ([`post`]) serves them
//! all, so adding a change is adding a row (and its form and change function).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError as _, web};
use airlock_web::{
    AdminTab, Chrome, Generated, IssuedToken, PolicyPage, PublisherKeyLine, PublisherLine,
    PublishersPage, PullTokenLine, RegistryPage, Section, SignerForm, SignerLine, SignersPage,
    Template, Text, UserLine, UsersPage, Viewer, WithdrawnLine,
};
use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{CsrfForm, PageError, Posted, Signed, Visitor, blocking, html, html_with, see_other};
use crate::admin;
use crate::appliance::Appliance;
use crate::auth;
use crate::http::AppState;
use crate::policy::{PolicyDocument, SignerSpec};
use crate::policy_store;
use crate::settings::PUBLISHER_THRESHOLD;
use crate::store::{self, Role, SignerKind};

/// Registers the admin routes: each tab's page (`GET`), and every row of [`ACTIONS`] (`POST`),
/// on the tab's resource when it is posted to the tab's own URL.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(index));
    for tab in Tab::ALL {
        let mut resource = web::resource(tab.path()).route(
            web::get()
                .to(move |signed: Signed, state: web::Data<AppState>| show(tab, signed, state)),
        );
        for action in ACTIONS.iter().filter(|a| a.path() == tab.path()) {
            resource = resource.route(action.route());
        }
        cfg.service(resource);
    }
    for action in ACTIONS
        .iter()
        .filter(|a| Tab::ALL.iter().all(|tab| tab.path() != a.path()))
    {
        cfg.route(action.path(), action.route());
    }
}

/// Every admin change, one row each: the URL its form is posted to, the least role that may
/// make it, its form, the change, where it goes back to once made, and what a refusal shows.
static ACTIONS: &[&dyn Row] = &[
    &Action::<SignerAdd> {
        path: "/admin/signers",
        role: Role::Admin,
        change: add_signer,
        back: "/admin/signers",
        refusal: Refusal::Form(signer_form_again),
    },
    &Action::<SignerEnabled> {
        path: "/admin/signers/enabled",
        role: Role::Admin,
        change: signer_enabled,
        back: "/admin/signers",
        refusal: Refusal::Tab(Tab::Signers),
    },
    &Action::<SignerExpiry> {
        path: "/admin/signers/expiry",
        role: Role::Admin,
        change: signer_expiry,
        back: "/admin/signers",
        refusal: Refusal::Tab(Tab::Signers),
    },
    &Action::<PolicyReplace> {
        path: "/admin/policy",
        role: Role::Admin,
        change: replace_policy,
        back: "/admin/policy",
        refusal: Refusal::Form(policy_form_again),
    },
    &Action::<PublisherKeyAdd> {
        path: "/admin/publishers",
        role: Role::Admin,
        change: add_publisher_key,
        back: "/admin/publishers",
        refusal: Refusal::Tab(Tab::Publishers),
    },
    &Action::<PublisherKeyEnabled> {
        path: "/admin/publishers/enabled",
        role: Role::Admin,
        change: publisher_key_enabled,
        back: "/admin/publishers",
        refusal: Refusal::Tab(Tab::Publishers),
    },
    &Action::<Threshold> {
        path: "/admin/publishers/threshold",
        role: Role::Admin,
        change: publisher_threshold,
        back: "/admin/publishers",
        refusal: Refusal::Tab(Tab::Publishers),
    },
    &Action::<UserAdd> {
        path: "/admin/users",
        role: Role::Admin,
        change: add_user,
        back: "/admin/users",
        refusal: Refusal::Tab(Tab::Users),
    },
    &Action::<UserEnabled> {
        path: "/admin/users/enabled",
        role: Role::Admin,
        change: user_enabled,
        back: "/admin/users",
        refusal: Refusal::Tab(Tab::Users),
    },
    &Action::<UserRole> {
        path: "/admin/users/role",
        role: Role::Admin,
        change: user_role,
        back: "/admin/users",
        refusal: Refusal::Tab(Tab::Users),
    },
    &Action::<UserPassword> {
        path: "/admin/users/password",
        role: Role::Admin,
        change: user_password,
        back: "/admin/users",
        refusal: Refusal::Tab(Tab::Users),
    },
    &Action::<PullTokenIssue> {
        path: "/admin/registry",
        role: Role::Admin,
        change: issue_pull_token,
        back: "/admin/registry",
        refusal: Refusal::Tab(Tab::Registry),
    },
    &Action::<PullTokenRevoke> {
        path: "/admin/registry/revoke",
        role: Role::Admin,
        change: revoke_pull_token,
        back: "/admin/registry",
        refusal: Refusal::Tab(Tab::Registry),
    },
    &Action::<AnonymousPull> {
        path: "/admin/registry/anonymous",
        role: Role::Admin,
        change: anonymous_pull,
        back: "/admin/registry",
        refusal: Refusal::Tab(Tab::Registry),
    },
    &Action::<Withdraw> {
        path: "/admin/artifacts/withdraw",
        role: Role::Admin,
        change: withdraw,
        back: "/admin/registry",
        refusal: Refusal::ErrorPage,
    },
    &Action::<ExceptionAsk> {
        path: "/admin/exceptions/request",
        role: Role::Admin,
        change: request_exception,
        back: "/",
        refusal: Refusal::ErrorPage,
    },
    &Action::<ExceptionApprove> {
        path: "/admin/exceptions/approve",
        role: Role::Admin,
        change: approve_exception,
        back: "/",
        refusal: Refusal::ErrorPage,
    },
    &Action::<ExceptionRevoke> {
        path: "/admin/exceptions/revoke",
        role: Role::Admin,
        change: revoke_exception,
        back: "/",
        refusal: Refusal::ErrorPage,
    },
    &Action::<AlarmClear> {
        path: "/admin/alarms/clear",
        role: Role::Admin,
        change: clear_alarm,
        back: "/",
        refusal: Refusal::ErrorPage,
    },
];

/// The admin pages, one per tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    /// Trusted signers, and the form adding one.
    Signers,
    /// The policy document.
    Policy,
    /// Publishers, their keys and the signature threshold.
    Publishers,
    /// Users.
    Users,
    /// The site registry: pull tokens, anonymous pull, withdrawn artifacts.
    Registry,
}

impl Tab {
    const ALL: [Tab; 5] = [
        Tab::Signers,
        Tab::Policy,
        Tab::Publishers,
        Tab::Users,
        Tab::Registry,
    ];

    /// The page's URL.
    fn path(self) -> &'static str {
        match self {
            Tab::Signers => "/admin/signers",
            Tab::Policy => "/admin/policy",
            Tab::Publishers => "/admin/publishers",
            Tab::Users => "/admin/users",
            Tab::Registry => "/admin/registry",
        }
    }

    /// The page as it is first shown, with `error` if a change was refused.
    fn render(
        self,
        app: &Appliance,
        viewer: Viewer,
        error: Option<String>,
    ) -> Result<String, PageError> {
        match self {
            Tab::Signers => signers_page(app, viewer, SignerForm::default(), error),
            Tab::Policy => policy_page(app, viewer, None, error),
            Tab::Publishers => publishers_page(app, viewer, error),
            Tab::Users => users_page(app, viewer, None, error),
            Tab::Registry => registry_page(app, viewer, None, error),
        }
    }
}

/// One admin change, a row of [`ACTIONS`]; `F` is its form.
struct Action<F> {
    /// Where its form is posted.
    path: &'static str,
    /// The least role that may make it (checked after the session and the CSRF token).
    role: Role,
    /// The change, made by the signed-in user (the actor of its audit row), off the workers.
    change: fn(&Appliance, &Visitor, &F) -> Result<Done, PageError>,
    /// Where a change that worked goes back to ([`Done::Back`]).
    back: &'static str,
    /// What a refused change answers.
    refusal: Refusal<F>,
}

/// What a change that worked answers.
#[derive(Debug)]
enum Done {
    /// `303 See Other` to the action's `back`.
    Back,
    /// The users page, `200 OK`, showing a generated password once (so not a redirect).
    Users(Option<Generated>),
    /// The registry page, `200 OK`, showing a pull token just issued once.
    Registry(IssuedToken),
    /// `303 See Other` to this page (the change's own subject).
    To(String),
}

/// What a refused change (a bad request, something not found, a conflict) answers; other
/// failures are the error page whatever this says.
enum Refusal<F> {
    /// The tab's page again with why, and the refusal's status.
    Tab(Tab),
    /// A page made from the refused form (filled in again) and why, with the refusal's status.
    Form(fn(&Appliance, Viewer, &F, String) -> Result<String, PageError>),
    /// The error page: the change is not made from a page that shows why.
    ErrorPage,
}

/// A row of [`ACTIONS`], whatever its form: its URL and its `POST` route.
trait Row: Sync {
    /// Where its form is posted.
    fn path(&self) -> &'static str;
    /// The route that takes its form.
    fn route(&'static self) -> actix_web::Route;
}

impl<F: CsrfForm + DeserializeOwned + Send + 'static> Row for Action<F> {
    fn path(&self) -> &'static str {
        self.path
    }

    fn route(&'static self) -> actix_web::Route {
        web::post()
            .to(move |state: web::Data<AppState>, posted: Posted<F>| post(self, state, posted))
    }
}

/// The one handler of every admin change: the session, CSRF token and role checked
/// ([`admit`]), then the change made and answered as its row says.
async fn post<F: CsrfForm + Send + 'static>(
    action: &'static Action<F>,
    state: web::Data<AppState>,
    posted: Posted<F>,
) -> Result<HttpResponse, PageError> {
    let (visitor, form) = admit(&state, posted, action.role).await?;
    let answer = blocking(&state, move |app| {
        let failed = match (action.change)(app, &visitor, &form) {
            Ok(Done::Back) => return Ok(None),
            Ok(Done::Users(generated)) => {
                let page = users_page(app, visitor.viewer(), generated, None)?;
                return Ok(Some((StatusCode::OK, page)));
            }
            Ok(Done::Registry(issued)) => {
                let page = registry_page(app, visitor.viewer(), Some(issued), None)?;
                return Ok(Some((StatusCode::OK, page)));
            }
            Ok(Done::To(location)) => return Ok(Some((StatusCode::SEE_OTHER, location))),
            Err(e) => e,
        };
        let again = match &action.refusal {
            Refusal::ErrorPage => return Err(failed),
            Refusal::Tab(tab) => {
                let (status, error) = refused(failed)?;
                (status, tab.render(app, visitor.viewer(), Some(error))?)
            }
            Refusal::Form(page) => {
                let (status, error) = refused(failed)?;
                (status, page(app, visitor.viewer(), &form, error)?)
            }
        };
        Ok(Some(again))
    })
    .await?;
    Ok(match answer {
        None => see_other(action.back),
        Some((StatusCode::SEE_OTHER, location)) => see_other(&location),
        Some((status, body)) => html_with(status, body),
    })
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
form!(
    /// Issues a pull token.
    PullTokenIssue { name, scope, expires }
);
form!(
    /// Revokes a pull token.
    PullTokenRevoke { id }
);
form!(
    /// Turns anonymous pull on or off.
    AnonymousPull { enabled }
);
form!(
    /// Withdraws a released artifact.
    Withdraw { id, reason }
);
form!(
    /// Asks for (or, with one approval, grants) an exception for a failed artifact.
    ExceptionAsk { artifact, justification, expires }
);
form!(
    /// Approves a pending exception.
    ExceptionApprove { id }
);
form!(
    /// Revokes a pending or active exception.
    ExceptionRevoke { id, reason }
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

/// An admin's form: the session authenticated, its CSRF token and then `role` checked.
async fn admit<T: CsrfForm + Send + 'static>(
    state: &AppState,
    posted: Posted<T>,
    role: Role,
) -> Result<(Visitor, T), PageError> {
    blocking(state, move |app| {
        let visitor = posted.open(app, role)?;
        Ok((visitor, posted.form))
    })
    .await
}

async fn index(signed: Signed, state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    admit_page(&state, signed).await?;
    Ok(see_other("/admin/signers"))
}

/// `GET` of a tab's page.
async fn show(
    tab: Tab,
    signed: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let viewer = admit_page(&state, signed).await?;
    let body = blocking(&state, move |app| tab.render(app, viewer, None)).await?;
    Ok(html(body))
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
    let rows = store::signers::list(app.reader()?.read())?;
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

/// Adds a trusted signer.
fn add_signer(app: &Appliance, by: &Visitor, f: &SignerAdd) -> Result<Done, PageError> {
    let spec = signer_spec(f)?;
    admin::add_signer(app, &by.actor(), &spec)?;
    Ok(Done::Back)
}

/// The signers page again, with the refused form filled in as it was sent.
fn signer_form_again(
    app: &Appliance,
    viewer: Viewer,
    f: &SignerAdd,
    error: String,
) -> Result<String, PageError> {
    let form = SignerForm {
        name: Text::new(f.name.clone()),
        kind: if f.kind == "key" { "key" } else { "keyless" }.into(),
        issuer: Text::new(f.issuer.clone()),
        subject: Text::new(f.subject.clone()),
        subject_is_regex: f.subject_is_regex == "true",
        public_key: Text::new(unix_lines(&f.public_key)),
        expires_at: Text::new(f.expires_at.clone()),
    };
    signers_page(app, viewer, form, Some(error))
}

/// Enables or disables a signer.
fn signer_enabled(app: &Appliance, by: &Visitor, f: &SignerEnabled) -> Result<Done, PageError> {
    let enabled = flag(&f.enabled, "enabled")?;
    admin::set_signer_enabled(app, &by.actor(), &f.name, enabled)?;
    Ok(Done::Back)
}

/// Sets or clears a signer's expiry.
fn signer_expiry(app: &Appliance, by: &Visitor, f: &SignerExpiry) -> Result<Done, PageError> {
    let at = expiry(&f.expires_at)?;
    admin::set_signer_expiry(app, &by.actor(), &f.name, at)?;
    Ok(Done::Back)
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

/// Replaces the policy document (and with it the trusted signers).
fn replace_policy(app: &Appliance, by: &Visitor, f: &PolicyReplace) -> Result<Done, PageError> {
    let doc = PolicyDocument::from_toml(&unix_lines(&f.toml))
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    admin::import_policy(app, &by.actor(), &doc)?;
    Ok(Done::Back)
}

/// The policy page again, holding the refused document as it was sent.
fn policy_form_again(
    app: &Appliance,
    viewer: Viewer,
    f: &PolicyReplace,
    error: String,
) -> Result<String, PageError> {
    policy_page(app, viewer, Some(unix_lines(&f.toml)), Some(error))
}

// ---------------------------------------------------------------------------------------
// Publishers

fn publishers_page(
    app: &Appliance,
    viewer: Viewer,
    error: Option<String>,
) -> Result<String, PageError> {
    let (publishers, keys, threshold) = {
        let store = app.reader()?;
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

/// Trusts a publisher key.
fn add_publisher_key(
    app: &Appliance,
    by: &Visitor,
    f: &PublisherKeyAdd,
) -> Result<Done, PageError> {
    let key = publisher_key(&unix_lines(&f.public_key))?;
    admin::add_publisher_key(app, &by.actor(), f.publisher.trim(), &key)?;
    Ok(Done::Back)
}

/// Enables or disables a publisher key.
fn publisher_key_enabled(
    app: &Appliance,
    by: &Visitor,
    f: &PublisherKeyEnabled,
) -> Result<Done, PageError> {
    let enabled = flag(&f.enabled, "enabled")?;
    admin::set_publisher_key_enabled(app, &by.actor(), &f.key_id, enabled)?;
    Ok(Done::Back)
}

/// Sets the publisher signature threshold.
fn publisher_threshold(app: &Appliance, by: &Visitor, f: &Threshold) -> Result<Done, PageError> {
    let n: usize = f
        .threshold
        .trim()
        .parse()
        .map_err(|_| PageError::BadRequest("the threshold must be a whole number".into()))?;
    admin::set_publisher_threshold(app, &by.actor(), n)?;
    Ok(Done::Back)
}

// ---------------------------------------------------------------------------------------
// Users

fn users_page(
    app: &Appliance,
    viewer: Viewer,
    generated: Option<Generated>,
    error: Option<String>,
) -> Result<String, PageError> {
    let rows = store::users::list(app.reader()?.read())?;
    let is_active_admin = |u: &store::UserRow| u.enabled && u.role == Role::Admin;
    let active_admins = rows.iter().filter(|u| is_active_admin(u)).count();
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
                last_admin: is_active_admin(u) && active_admins == 1,
            })
            .collect(),
        generated,
        error: error.map(Text::new),
    }
    .render()?)
}

fn role(value: &str) -> Result<Role, PageError> {
    Role::parse(value)
        .ok_or_else(|| PageError::BadRequest("the role must be auditor, operator or admin".into()))
}

/// Adds a user. A generated password is shown once, on the page this POST answers (so it is
/// not a redirect).
fn add_user(app: &Appliance, by: &Visitor, f: &UserAdd) -> Result<Done, PageError> {
    let name = f.name.trim().to_owned();
    let role = role(&f.role)?;
    let password = admin::add_user(app, &by.actor(), &name, role, given(&f.password).as_deref())?;
    Ok(Done::Users(password.map(|password| Generated {
        name: Text::new(name),
        password,
    })))
}

/// Enables or disables a user.
fn user_enabled(app: &Appliance, by: &Visitor, f: &UserEnabled) -> Result<Done, PageError> {
    let enabled = flag(&f.enabled, "enabled")?;
    admin::set_user_enabled(app, &by.actor(), &f.name, enabled)?;
    Ok(Done::Back)
}

/// Changes a user's role.
fn user_role(app: &Appliance, by: &Visitor, f: &UserRole) -> Result<Done, PageError> {
    admin::set_role(app, &by.actor(), &f.name, role(&f.role)?)?;
    Ok(Done::Back)
}

/// Gives a user a new generated password (ending their sessions), shown once.
fn user_password(app: &Appliance, by: &Visitor, f: &UserPassword) -> Result<Done, PageError> {
    let password = auth::generate_password();
    admin::set_password(app, &by.actor(), &f.name, &password)?;
    Ok(Done::Users(Some(Generated {
        name: Text::new(f.name.clone()),
        password,
    })))
}

// ---------------------------------------------------------------------------------------
// Registry

fn registry_page(
    app: &Appliance,
    viewer: Viewer,
    issued: Option<IssuedToken>,
    error: Option<String>,
) -> Result<String, PageError> {
    let (tokens, withdrawn, anonymous) = {
        let store = app.reader()?;
        let conn = store.read();
        (
            store::registry::tokens(conn)?,
            store::registry::withdrawals(conn)?,
            store::settings::get(conn, crate::settings::ANONYMOUS_PULL)?.as_deref() == Some("true"),
        )
    };
    Ok(RegistryPage {
        chrome: Chrome::new("Registry", viewer, Section::Admin),
        tab: AdminTab::Registry,
        tokens: tokens
            .into_iter()
            .map(|t| PullTokenLine {
                id: t.id,
                name: Text::new(t.name),
                scope: t.scope.map(Text::new),
                issued: Text::new(format!("by {} at {}", t.created_by, t.created_at)),
                expires_at: t.expires_at,
                revoked: t.revoked_at.map(|at| {
                    Text::new(format!("at {at} by {}", t.revoked_by.unwrap_or_default()))
                }),
            })
            .collect(),
        anonymous,
        withdrawn: withdrawn
            .into_iter()
            .map(|w| WithdrawnLine {
                artifact_id: w.artifact_id,
                detail: Text::new(format!(
                    "by {} at {}: {}",
                    w.withdrawn_by, w.withdrawn_at, w.reason
                )),
            })
            .collect(),
        issued,
        error: error.map(Text::new),
    }
    .render()?)
}

/// Issues a pull token and shows it once.
fn issue_pull_token(app: &Appliance, by: &Visitor, f: &PullTokenIssue) -> Result<Done, PageError> {
    let expires_at = match f.expires.trim() {
        "" => None,
        day => Some(
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .map_err(|_| {
                    PageError::BadRequest(format!(
                        "expires: {day:?} is not a date (YYYY-MM-DD, UTC)"
                    ))
                })?
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
                .ok_or_else(|| PageError::BadRequest("expires: not a date".into()))?,
        ),
    };
    let spec = admin::PullTokenSpec {
        name: f.name.trim().to_owned(),
        scope: given(&f.scope).map(|s| s.trim().to_owned()),
        expires_at,
    };
    let (_, token) = admin::issue_pull_token(app, &by.actor(), &spec)?;
    Ok(Done::Registry(IssuedToken {
        name: Text::new(spec.name),
        token,
    }))
}

/// Revokes a pull token.
fn revoke_pull_token(
    app: &Appliance,
    by: &Visitor,
    f: &PullTokenRevoke,
) -> Result<Done, PageError> {
    let id: i64 =
        f.id.trim()
            .parse()
            .map_err(|_| PageError::BadRequest(format!("{:?} is not a token id", f.id)))?;
    admin::revoke_pull_token(app, &by.actor(), id)?;
    Ok(Done::Back)
}

/// Turns anonymous pull on or off.
fn anonymous_pull(app: &Appliance, by: &Visitor, f: &AnonymousPull) -> Result<Done, PageError> {
    admin::set_anonymous_pull(app, &by.actor(), flag(&f.enabled, "enabled")?)?;
    Ok(Done::Back)
}

/// Withdraws a released artifact and goes back to its report.
fn withdraw(app: &Appliance, by: &Visitor, f: &Withdraw) -> Result<Done, PageError> {
    let id: i64 =
        f.id.trim()
            .parse()
            .map_err(|_| PageError::BadRequest(format!("{:?} is not an artifact id", f.id)))?;
    admin::withdraw_artifact(app, &by.actor(), id, &f.reason)?;
    Ok(Done::To(format!("/artifacts/{id}")))
}

// ---------------------------------------------------------------------------------------
// Exceptions

/// An id field, or a 400 naming what it should have been.
fn id_field(value: &str, what: &str) -> Result<i64, PageError> {
    value
        .trim()
        .parse()
        .map_err(|_| PageError::BadRequest(format!("{value:?} is not an {what} id")))
}

/// Asks for an exception; the expiry is a date, at 00:00 UTC that day. Back to the artifact.
fn request_exception(app: &Appliance, by: &Visitor, f: &ExceptionAsk) -> Result<Done, PageError> {
    let artifact = id_field(&f.artifact, "artifact")?;
    let expires_at = NaiveDate::parse_from_str(f.expires.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            PageError::BadRequest(format!(
                "expiry {:?}: expected a date as YYYY-MM-DD",
                f.expires
            ))
        })?;
    crate::exception::request(
        app,
        &by.actor(),
        &crate::exception::ExceptionRequest {
            artifact_id: artifact,
            justification: &f.justification,
            expires_at,
        },
    )?;
    Ok(Done::To(format!("/artifacts/{artifact}")))
}

/// Approves a pending exception as this admin. Back to the artifact.
fn approve_exception(
    app: &Appliance,
    by: &Visitor,
    f: &ExceptionApprove,
) -> Result<Done, PageError> {
    let row = crate::exception::approve(app, &by.actor(), id_field(&f.id, "exception")?)?;
    Ok(Done::To(format!("/artifacts/{}", row.artifact_id)))
}

/// Revokes an exception. Back to the artifact.
fn revoke_exception(app: &Appliance, by: &Visitor, f: &ExceptionRevoke) -> Result<Done, PageError> {
    let id = id_field(&f.id, "exception")?;
    let row = crate::exception::revoke(app, &by.actor(), id, &f.reason)?;
    Ok(Done::To(format!("/artifacts/{}", row.artifact_id)))
}

// ---------------------------------------------------------------------------------------
// Alarms

/// Clears an alarm (from the dashboard, so it goes back there).
fn clear_alarm(app: &Appliance, by: &Visitor, f: &AlarmClear) -> Result<Done, PageError> {
    let id: i64 =
        f.id.trim()
            .parse()
            .map_err(|_| PageError::BadRequest("no such alarm".into()))?;
    admin::clear_alarm(app, &by.actor(), id)?;
    Ok(Done::Back)
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
    fn every_action_has_its_own_admin_url() {
        let paths: Vec<&str> = ACTIONS.iter().map(|a| a.path()).collect();
        let distinct: std::collections::BTreeSet<&str> = paths.iter().copied().collect();
        assert_eq!(distinct.len(), paths.len(), "{paths:?}");
        assert!(paths.iter().all(|p| p.starts_with("/admin/")), "{paths:?}");
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
