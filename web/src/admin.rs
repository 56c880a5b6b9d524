//! `/admin/…`: trusted signers, policy, publishers and users (admins only). Every form posts
//! the session's CSRF token.

use askama::Template;

use crate::layout::{self, Chrome};
use crate::text::Text;

/// Which admin page is shown (for the admin sub-navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTab {
    /// `/admin/signers`.
    Signers,
    /// `/admin/policy`.
    Policy,
    /// `/admin/publishers`.
    Publishers,
    /// `/admin/users`.
    Users,
    /// `/admin/registry`.
    Registry,
}

/// A trusted signer.
#[derive(Debug, Clone)]
pub struct SignerLine {
    /// Its unique name.
    pub name: Text,
    /// `keyless` or `key`.
    pub kind: String,
    /// OIDC issuer (keyless).
    pub issuer: Option<Text>,
    /// Subject or anchored pattern (keyless).
    pub subject: Option<Text>,
    /// Whether `subject` is a pattern.
    pub subject_is_regex: bool,
    /// The PEM key (key).
    pub public_key: Option<Text>,
    /// Whether it is enabled.
    pub enabled: bool,
    /// Expiry (stored form).
    pub expires_at: Option<String>,
    /// Whether it is trusted now (enabled and not expired).
    pub active: bool,
}

impl SignerLine {
    /// The expiry for people.
    pub fn expiry(&self) -> String {
        layout::time_or_dash(self.expires_at.as_deref())
    }
}

/// The add-signer form's values (kept after a refused submission).
#[derive(Debug, Clone, Default)]
pub struct SignerForm {
    /// Name.
    pub name: Text,
    /// `keyless` or `key`.
    pub kind: String,
    /// OIDC issuer.
    pub issuer: Text,
    /// Subject.
    pub subject: Text,
    /// Whether the subject is an anchored regex.
    pub subject_is_regex: bool,
    /// PEM public key.
    pub public_key: Text,
    /// Expiry (RFC 3339), or empty.
    pub expires_at: Text,
}

/// The trusted signers page.
#[derive(Debug, Template)]
#[template(path = "admin/signers.html")]
pub struct SignersPage {
    /// The frame.
    pub chrome: Chrome,
    /// This tab.
    pub tab: AdminTab,
    /// Every signer.
    pub signers: Vec<SignerLine>,
    /// The add form.
    pub form: SignerForm,
    /// Why the last change was refused.
    pub error: Option<Text>,
}

/// The policy page: the whole policy document (policy and signers) as TOML.
#[derive(Debug, Template)]
#[template(path = "admin/policy.html")]
pub struct PolicyPage {
    /// The frame.
    pub chrome: Chrome,
    /// This tab.
    pub tab: AdminTab,
    /// The document in force, or as last submitted when it was refused.
    pub toml: Text,
    /// Why the last submission was refused.
    pub error: Option<Text>,
}

/// A publisher.
#[derive(Debug, Clone)]
pub struct PublisherLine {
    /// Its name.
    pub name: Text,
    /// The last sequence accepted.
    pub last_sequence: Option<u64>,
}

/// A publisher key.
#[derive(Debug, Clone)]
pub struct PublisherKeyLine {
    /// Hex SHA-256 of the raw key.
    pub key_id: String,
    /// Its publisher.
    pub publisher: Text,
    /// Whether it is trusted.
    pub enabled: bool,
}

/// The publishers page.
#[derive(Debug, Template)]
#[template(path = "admin/publishers.html")]
pub struct PublishersPage {
    /// The frame.
    pub chrome: Chrome,
    /// This tab.
    pub tab: AdminTab,
    /// Every publisher.
    pub publishers: Vec<PublisherLine>,
    /// Every key.
    pub keys: Vec<PublisherKeyLine>,
    /// How many trusted keys must sign an archive.
    pub threshold: u64,
    /// Why the last change was refused.
    pub error: Option<Text>,
}

/// A user.
#[derive(Debug, Clone)]
pub struct UserLine {
    /// Name.
    pub name: Text,
    /// Role name.
    pub role: String,
    /// Whether they may sign in.
    pub enabled: bool,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// When the next sign-in attempt may be made (stored form).
    pub locked_until: Option<String>,
    /// The only enabled admin: it can be neither disabled nor given another role (the server
    /// refuses both), so the page offers neither.
    pub last_admin: bool,
}

impl UserLine {
    /// The sign-in wait for people.
    pub fn lock(&self) -> String {
        layout::time_or_dash(self.locked_until.as_deref())
    }
}

/// A password the appliance generated, shown once.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Whose.
    pub name: Text,
    /// The password.
    pub password: String,
}

/// The users page.
#[derive(Debug, Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    /// The frame.
    pub chrome: Chrome,
    /// This tab.
    pub tab: AdminTab,
    /// Every user.
    pub users: Vec<UserLine>,
    /// A password just generated.
    pub generated: Option<Generated>,
    /// Why the last change was refused.
    pub error: Option<Text>,
}

/// The roles a user may be given: (value, label).
pub const ROLE_CHOICES: [(&str, &str); 3] = [
    ("auditor", "auditor (read-only)"),
    ("operator", "operator (imports)"),
    ("admin", "admin"),
];

impl UsersPage {
    /// The role choices.
    pub fn roles(&self) -> &'static [(&'static str, &'static str)] {
        &ROLE_CHOICES
    }
}

/// A pull token, as listed (never the token).
#[derive(Debug, Clone)]
pub struct PullTokenLine {
    /// Its id.
    pub id: i64,
    /// What it is for.
    pub name: Text,
    /// The repository prefix it is limited to (`None`: every repository).
    pub scope: Option<Text>,
    /// Who issued it, and when.
    pub issued: Text,
    /// When it stops working.
    pub expires_at: Option<String>,
    /// When it was revoked, and by whom.
    pub revoked: Option<Text>,
}

/// A withdrawn artifact, as listed.
#[derive(Debug, Clone)]
pub struct WithdrawnLine {
    /// The artifact's id.
    pub artifact_id: i64,
    /// Who, when, why.
    pub detail: Text,
}

/// A pull token just issued, shown once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// What it is for.
    pub name: Text,
    /// The token.
    pub token: String,
}

/// The registry tab: pull tokens, anonymous pull, withdrawn artifacts.
#[derive(Debug, Template)]
#[template(path = "admin/registry.html")]
pub struct RegistryPage {
    /// The frame.
    pub chrome: Chrome,
    /// This tab.
    pub tab: AdminTab,
    /// Every pull token, newest first.
    pub tokens: Vec<PullTokenLine>,
    /// Whether machines may pull without a token.
    pub anonymous: bool,
    /// Withdrawn artifacts, newest first.
    pub withdrawn: Vec<WithdrawnLine>,
    /// A token just issued.
    pub issued: Option<IssuedToken>,
    /// Why the last change was refused.
    pub error: Option<Text>,
}
