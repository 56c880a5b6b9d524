//! Local accounts and sessions: argon2id password hashes, sign-in throttled per name and per
//! address with growing delays (never a lock the right password cannot pass), a per-address
//! rate limit, sessions kept as SHA-256 hashes of random bearer tokens with an idle timeout.
//! Every sign-in attempt is an audit event.
//!
//! Blocking (argon2 and SQLite): callers on an async runtime run these off its workers.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use rand_core::{OsRng, RngCore as _};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::appliance::Appliance;
use crate::audit::{self, Event};
use crate::store::{StoreError, Tx, UserRow, users};
pub use crate::throttle::{
    ADDRESS_FREE_FAILURES, ADDRESS_MEMORY, FREE_FAILURES, MAX_DELAY, NAME_FREE_FAILURES, Throttle,
    delay_after,
};
use crate::throttle::{bucket, next_attempt, wait_until};

/// A session unused for this long is ended.
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);

/// A session's `last_seen` is rewritten at most this often (saves a write per request; the
/// idle timeout is exact to within this).
const TOUCH_EVERY: TimeDelta = TimeDelta::seconds(60);

/// Random bytes in a session token and a CSRF token.
const TOKEN_BYTES: usize = 32;

/// The alphabet of generated passwords: letters and digits without look-alikes (0 O o, 1 l I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Length of generated passwords (20 of 56 symbols: about 116 bits).
const PASSWORD_LENGTH: usize = 20;

/// An argon2id hash (default parameters) of a random password nobody knows: unknown names are
/// checked against it, so a sign-in takes as long whether or not the name exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$x7xZ3gHhSGb6Ck3cCiCuHw$\
                          N1H3D7lYRzsC2uL4r9TzKzXr0uKy2cHpR6R8bPBaQbs";

/// Why a sign-in or a session was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The name is unknown, the password wrong, or the account disabled (the same answer for
    /// each, so it does not reveal which names exist).
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many consecutive failures for this name: the next attempt must wait. Unknown names
    /// are throttled exactly like known ones, so this does not reveal which names exist.
    #[error(
        "too many failed sign-ins for this name; try again in {} s",
        retry_seconds(*retry_after)
    )]
    Throttled {
        /// How long until the next attempt for the name is allowed.
        retry_after: Duration,
    },
    /// Too many attempts, or failures, from one address.
    #[error(
        "too many sign-in attempts from this address; try again in {} s",
        retry_seconds(*retry_after)
    )]
    RateLimited {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// No session has this token (never issued, signed out, or the user was disabled).
    #[error("not signed in")]
    NotSignedIn,
    /// The session was idle too long and has been ended.
    #[error("session expired; sign in again")]
    Expired,
    /// argon2 could not hash the password.
    #[error("hashing the password: {reason}")]
    Hash {
        /// argon2's error.
        reason: String,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whole seconds, rounded up, at least 1 (for messages and `Retry-After`).
pub(crate) fn retry_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// An argon2id PHC string (default parameters, random 16-byte salt) for `password`.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash {
            reason: e.to_string(),
        })
}

/// Whether `password` matches the PHC string `phc` (false if `phc` does not parse).
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A new random password: 20 characters from letters and digits without look-alikes.
pub fn generate_password() -> String {
    // Rejection sampling keeps every symbol equally likely.
    let n = PASSWORD_ALPHABET.len();
    let zone = 256 - 256 % n;
    let mut out = String::with_capacity(PASSWORD_LENGTH);
    let mut buf = [0u8; 64];
    while out.len() < PASSWORD_LENGTH {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            if usize::from(b) < zone && out.len() < PASSWORD_LENGTH {
                out.push(char::from(PASSWORD_ALPHABET[usize::from(b) % n]));
            }
        }
    }
    out
}

/// A session just created by [`sign_in`].
#[derive(Clone)]
pub struct NewSession {
    /// The bearer token (32 random bytes, base64url). Only its SHA-256 is stored.
    pub token: String,
    /// The session's CSRF token (for cookie-authenticated state changes).
    pub csrf_token: String,
    /// Who signed in.
    pub user: UserRow,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<redacted>")
            .field("csrf_token", &"<redacted>")
            .field("user", &self.user.name)
            .finish()
    }
}

/// A live session, as [`authenticate`] found it.
#[derive(Clone)]
pub struct Session {
    /// Its user.
    pub user: UserRow,
    /// Its CSRF token.
    pub csrf_token: String,
    /// The hex SHA-256 of its token (the session's key).
    pub token_sha256: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.name)
            .field("role", &self.user.role)
            .field("csrf_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Signs `name` in with `password` at `now` (see [`sign_in_from`]).
pub fn sign_in(
    app: &Appliance,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<NewSession, AuthError> {
    sign_in_from(app, None, name, password, now)
}

/// Signs `name` in with `password` at `now`, from `remote` (recorded in the audit chain).
///
/// An address with more than [`ADDRESS_FREE_FAILURES`] recent failures, a name with more than
/// [`FREE_FAILURES`] consecutive ones from this address, or a name with more than
/// [`NAME_FREE_FAILURES`] from anywhere, must wait ([`delay_after`]) before its next attempt:
/// one made sooner is refused without a password check ([`AuthError::RateLimited`],
/// [`AuthError::Throttled`]) and counts for nothing. An unknown name, a wrong password and a
/// disabled account are all [`AuthError::BadCredentials`], each costs one argon2
/// verification (unknown names against a dummy hash), and each counts a failure for the name
/// (unknown names in memory, accounts in the database) and for the name from this address
/// (in memory), so unknown and known names answer alike, throttled or not. The right password
/// once the wait is over signs in and clears the name's failures. The attempt's audit event
/// (`login` or `login.failed`) is written in the same transaction as its effects.
pub fn sign_in_from(
    app: &Appliance,
    remote: Option<IpAddr>,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<NewSession, AuthError> {
    // To the precision times are stored in, so a name's wait is the same whether it is kept in
    // the database (a known name) or in memory (an unknown one).
    let now = now.trunc_subsecs(6);
    let throttle = app.sign_in_throttle();
    let remote_text = remote.map(|r| r.to_string());
    if let Some(addr) = remote
        && let Some(retry_after) = throttle.address_wait(addr, now)
    {
        app.store().write(|tx| {
            record(
                tx,
                now,
                "login.failed",
                name,
                json!({"reason": "address throttled", "remote": remote_text}),
            )
        })?;
        return Err(AuthError::RateLimited { retry_after });
    }
    // The longer of the name's wait (from anywhere) and its wait from this address.
    let wait = |user: &Option<UserRow>| -> Result<Option<Duration>, StoreError> {
        let name_wait = match user {
            Some(u) => account_wait(u, now)?,
            None => throttle.name_wait(name, now),
        };
        Ok(name_wait.max(throttle.pair_wait(name, remote, now)))
    };
    let known = users::by_name(app.store().read(), name)?;
    let waiting = wait(&known)?;
    // A throttled name gets no password check at all (the wait would not slow guessing
    // otherwise); the decision is made again below, inside the transaction.
    let verified = match &known {
        _ if waiting.is_some() => None,
        Some(u) => verify_password(&u.password_hash, password).then_some(&u.password_hash),
        None => {
            verify_password(DUMMY_HASH, password);
            None
        }
    };
    let outcome = app.store().write(|tx| {
        let user = users::by_name(tx, name)?;
        if let Some(retry_after) = wait(&user)? {
            record(
                tx,
                now,
                "login.failed",
                name,
                json!({"reason": "throttled", "remote": remote_text}),
            )?;
            return Ok(Err(AuthError::Throttled { retry_after }));
        }
        // The password matched the hash that is still stored (not one changed meanwhile).
        let password_ok = user
            .as_ref()
            .is_some_and(|u| verified == Some(&u.password_hash));
        let (reason, failures, next) = match user {
            Some(u) if u.enabled && password_ok => {
                throttle.name_cleared(name);
                return open_session(tx, u, remote, now).map(Ok);
            }
            Some(u) => {
                let failures = u.failed_logins.saturating_add(1);
                let next = next_attempt(failures, NAME_FREE_FAILURES, now);
                users::record_failure(tx, u.id, next.map(stamp).as_deref())?;
                let reason = if u.enabled {
                    "wrong password"
                } else {
                    "disabled"
                };
                (reason, failures, next)
            }
            None => {
                let (failures, next) = throttle.name_failed(name, now);
                ("unknown user", failures, next)
            }
        };
        let (from_here, next_from_here) = throttle.pair_failed(name, remote, now);
        record(
            tx,
            now,
            "login.failed",
            name,
            json!({
                "reason": reason,
                "remote": remote_text,
                "failures": failures,
                "next_attempt": next.map(stamp),
                "failures_from_here": from_here,
                "next_attempt_from_here": next_from_here.map(stamp),
            }),
        )?;
        Ok(Err(AuthError::BadCredentials))
    })?;
    if let (Err(AuthError::BadCredentials), Some(addr)) = (&outcome, remote) {
        throttle.address_failed(addr, now);
    }
    outcome
}

/// How long `user` must wait at `now` before the next attempt, if at all.
fn account_wait(user: &UserRow, now: DateTime<Utc>) -> Result<Option<Duration>, StoreError> {
    match &user.locked_until {
        None => Ok(None),
        Some(s) => Ok(wait_until(parse_time("users.locked_until", s)?, now)),
    }
}

/// Clears the failures, stores a new session and records the sign-in.
fn open_session(
    tx: &Tx<'_>,
    user: UserRow,
    remote: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<NewSession, AuthError> {
    let token = random_token();
    let csrf_token = random_token();
    users::record_success(tx, user.id)?;
    users::add_session(tx, &token_sha256(&token), user.id, &csrf_token, now)?;
    record(
        tx,
        now,
        "login",
        &user.name,
        json!({"role": user.role, "remote": remote.map(|r| r.to_string())}),
    )?;
    Ok(NewSession {
        token,
        csrf_token,
        user: UserRow {
            failed_logins: 0,
            locked_until: None,
            ..user
        },
    })
}

/// The session `token` belongs to, at `now`.
///
/// [`AuthError::NotSignedIn`] if there is none (or its user is disabled: the session is
/// ended); [`AuthError::Expired`] if it was idle longer than [`IDLE_TIMEOUT`] (it is ended).
/// Otherwise its last use becomes `now`.
pub fn authenticate(
    app: &Appliance,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Session, AuthError> {
    if token.is_empty() {
        return Err(AuthError::NotSignedIn);
    }
    let hash = token_sha256(token);
    let row = users::session(app.reader()?.read(), &hash)?.ok_or(AuthError::NotSignedIn)?;
    let last_seen = parse_time("sessions.last_seen", &row.last_seen)?;
    let idle = now.signed_duration_since(last_seen);
    if idle > IDLE_TIMEOUT || !row.user.enabled {
        app.store().write(|tx| users::delete_session(tx, &hash))?;
        return Err(if row.user.enabled {
            AuthError::Expired
        } else {
            AuthError::NotSignedIn
        });
    }
    // Touched by whichever request finds the writer free: the others of that moment (a
    // browser's parallel requests share a session) do not queue behind its fsync; the next
    // one touches it if this one could not.
    if idle >= TOUCH_EVERY
        && let Some(mut store) = app.try_store()
    {
        store.write(|tx| users::touch_session(tx, &hash, now))?;
    }
    Ok(Session {
        user: row.user,
        csrf_token: row.csrf_token,
        token_sha256: hash,
    })
}

/// Ends `session` and records it (`logout`).
pub fn sign_out(app: &Appliance, session: &Session, now: DateTime<Utc>) -> Result<(), AuthError> {
    app.store().write(|tx| {
        users::delete_session(tx, &session.token_sha256)?;
        record(tx, now, "logout", &session.user.name, json!({}))?;
        Ok(())
    })
}

/// Whether `given` equals the session's CSRF token (compared in constant time).
pub fn csrf_matches(session: &Session, given: &str) -> bool {
    secrets_match(&session.csrf_token, given)
}

/// Whether two secret strings (CSRF and form tokens) are equal, compared in constant time
/// (`subtle`): how long they are may show, where they differ does not. The one comparison of
/// secrets the HTTP side uses.
pub(crate) fn secrets_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The hex SHA-256 of a token: the key sessions are stored under.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn parse_time(what: &str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what: what.to_owned(),
            reason: e.to_string(),
        })
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn record(
    tx: &Tx<'_>,
    now: DateTime<Utc>,
    action: &str,
    name: &str,
    detail: serde_json::Value,
) -> Result<i64, StoreError> {
    audit::append(
        tx,
        now,
        &Event {
            actor: name,
            action,
            subject: name,
            detail,
        },
    )
}

/// The attempts one address may make in one window.
const RATE_LIMIT: usize = 10;
/// The rate limit's window.
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked before stale ones are dropped.
const RATE_TRACKED: usize = 4096;

/// Sign-in attempts per remote address in a sliding window, in memory (a restart forgets
/// them; the per-account throttle is the durable limit). IPv6 addresses count per /64, the
/// block one client usually holds.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Default for RateLimiter {
    /// At most 10 attempts per minute per address.
    fn default() -> Self {
        Self::new(RATE_LIMIT, RATE_WINDOW)
    }
}

impl RateLimiter {
    /// At most `limit` attempts per `window` per address.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `addr` at `now`, or refuses it ([`AuthError::RateLimited`]; a
    /// refused attempt is not counted).
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), AuthError> {
        let key = bucket(addr);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= RATE_TRACKED && !seen.contains_key(&key) {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < self.window)
            });
        }
        let times = seen.entry(key).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(AuthError::RateLimited {
                retry_after: self
                    .window
                    .saturating_sub(now.saturating_duration_since(oldest)),
            });
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&phc, "correct horse"));
        assert!(!verify_password(&phc, "correct horsE"));
        assert!(!verify_password("not a phc string", "correct horse"));
        assert_ne!(phc, hash_password("correct horse").unwrap(), "salts differ");
    }

    #[test]
    fn the_dummy_hash_has_the_default_cost() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real = hash_password("x").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(dummy.hash.is_some());
    }

    #[test]
    fn the_wait_doubles_after_the_free_failures_up_to_five_minutes() {
        let waits: Vec<i64> = (0..=16)
            .map(|n| delay_after(n, FREE_FAILURES).num_seconds())
            .collect();
        assert_eq!(
            waits,
            [
                0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300
            ]
        );
        assert_eq!(delay_after(i64::MAX, FREE_FAILURES), MAX_DELAY);
    }

    #[test]
    fn generated_passwords_use_the_unambiguous_alphabet() {
        let a = generate_password();
        assert_eq!(a.len(), PASSWORD_LENGTH);
        assert!(a.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
        assert!(!a.contains(['0', 'O', 'o', '1', 'l', 'I']));
        assert_ne!(a, generate_password());
    }

    #[test]
    fn tokens_are_32_bytes_base64url() {
        let t = random_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&t).unwrap().len(), TOKEN_BYTES);
        assert_eq!(token_sha256("abc").len(), 64);
    }

    #[test]
    fn secrets_match_compares_whole_strings() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
        assert!(!secrets_match("", "a"));
    }

    #[test]
    fn the_rate_limiter_refuses_the_eleventh_attempt_in_a_minute() {
        let limiter = RateLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..10 {
            limiter.check(ip, t0 + Duration::from_secs(i)).unwrap();
        }
        let err = limiter.check(ip, t0 + Duration::from_secs(30)).unwrap_err();
        match err {
            AuthError::RateLimited { retry_after } => {
                assert_eq!(retry_after, Duration::from_secs(30));
            }
            other => panic!("{other:?}"),
        }
        limiter.check(other, t0 + Duration::from_secs(30)).unwrap();
        // The first attempt leaves the window after a minute.
        limiter.check(ip, t0 + Duration::from_secs(60)).unwrap();
        assert!(limiter.check(ip, t0 + Duration::from_secs(60)).is_err());
    }

    #[test]
    fn ipv6_addresses_count_per_slash_64() {
        let limiter = RateLimiter::new(2, RATE_WINDOW);
        let t0 = Instant::now();
        limiter.check("2001:db8::1".parse().unwrap(), t0).unwrap();
        limiter
            .check("2001:db8::ffff:2".parse().unwrap(), t0)
            .unwrap();
        assert!(matches!(
            limiter.check("2001:db8::3".parse().unwrap(), t0),
            Err(AuthError::RateLimited { .. })
        ));
        limiter
            .check("2001:db8:0:1::1".parse().unwrap(), t0)
            .unwrap();
        // An IPv4-mapped address counts as the IPv4 address.
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        limiter
            .check("::ffff:192.0.2.1".parse().unwrap(), t0)
            .unwrap();
        limiter.check(v4, t0).unwrap();
        assert!(limiter.check(v4, t0).is_err());
    }
}
