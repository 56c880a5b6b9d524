//! Sign-in throttling with time as an input: growing waits per name and per address that the
//! right password passes once they are over, and unknown names throttled exactly like known
//! ones.

use std::net::IpAddr;
use std::time::Duration;

use airlock_appliance::auth::{self, AuthError};
use chrono::{DateTime, TimeDelta, Utc};

use crate::common::{ADMIN, AUDITOR, Folder};

/// One attempt at `at`, from no particular address.
fn attempt(
    folder: &Folder,
    name: &str,
    password: &str,
    at: DateTime<Utc>,
) -> Result<(), AuthError> {
    auth::sign_in_from(&folder.app, None, name, password, at).map(drop)
}

fn throttled(result: Result<(), AuthError>) -> Duration {
    match result {
        Err(AuthError::Throttled { retry_after }) => retry_after,
        other => panic!("expected Throttled, got {other:?}"),
    }
}

fn bad(result: Result<(), AuthError>) {
    assert!(
        matches!(result, Err(AuthError::BadCredentials)),
        "expected BadCredentials, got {result:?}"
    );
}

#[test]
fn the_only_admin_signs_in_once_the_growing_wait_is_over() {
    let folder = Folder::new();
    let t0 = Utc::now();
    let mut now = t0;
    // Five free failures, one second apart.
    for _ in 0..auth::FREE_FAILURES {
        bad(attempt(&folder, ADMIN.0, "guess", now));
        now += TimeDelta::seconds(1);
    }
    now -= TimeDelta::seconds(1);
    // From then on each failure doubles the wait, up to five minutes; attempts during a wait,
    // the right password included, are refused without counting.
    let mut waits = Vec::new();
    for _ in 0..11 {
        let wait = throttled(attempt(&folder, ADMIN.0, ADMIN.1, now));
        waits.push(wait.as_secs());
        assert_eq!(
            throttled(attempt(&folder, ADMIN.0, "guess", now)),
            wait,
            "a refused attempt does not lengthen the wait"
        );
        now += TimeDelta::from_std(wait).unwrap();
        bad(attempt(&folder, ADMIN.0, "guess", now));
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    let wait = throttled(attempt(&folder, ADMIN.0, ADMIN.1, now));
    assert_eq!(wait, Duration::from_secs(300));
    // Once the wait is over the right password signs in, and the count starts again.
    now += TimeDelta::seconds(300);
    let session = auth::sign_in_from(&folder.app, None, ADMIN.0, ADMIN.1, now).unwrap();
    assert_eq!(session.user.name, ADMIN.0);
    let row = airlock_appliance::store::users::by_name(folder.app.store().read(), ADMIN.0)
        .unwrap()
        .unwrap();
    assert_eq!((row.failed_logins, row.locked_until), (0, None));
    bad(attempt(&folder, ADMIN.0, "guess", now));
}

#[test]
fn unknown_names_are_throttled_exactly_like_accounts() {
    let folder = Folder::new();
    let mut now = Utc::now();
    let mut waits = Vec::new();
    for round in 0..16 {
        let known = attempt(&folder, AUDITOR.0, "guess", now);
        let unknown = attempt(&folder, "no-such-user", "guess", now);
        assert_eq!(
            format!("{known:?}"),
            format!("{unknown:?}"),
            "round {round}"
        );
        match known {
            Err(AuthError::Throttled { retry_after }) => {
                waits.push(retry_after.as_secs());
                now += TimeDelta::from_std(retry_after).unwrap();
            }
            other => bad(other),
        }
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32]);
}

#[test]
fn an_address_spraying_names_waits_longer_and_longer() {
    let folder = Folder::new();
    let addr: IpAddr = "192.0.2.9".parse().unwrap();
    let other: IpAddr = "2001:db8::1".parse().unwrap();
    let mut now = Utc::now();
    let spray = |i: i64, from: IpAddr, at: DateTime<Utc>| {
        auth::sign_in_from(&folder.app, Some(from), &format!("user-{i}"), "guess", at).map(drop)
    };
    for i in 0..auth::ADDRESS_FREE_FAILURES {
        bad(spray(i, addr, now));
        now += TimeDelta::seconds(1);
    }
    now -= TimeDelta::seconds(1);
    let mut waits = Vec::new();
    for i in 0..4 {
        match spray(100 + i, addr, now) {
            Err(AuthError::RateLimited { retry_after }) => {
                waits.push(retry_after.as_secs());
                now += TimeDelta::from_std(retry_after).unwrap();
            }
            other => panic!("expected RateLimited, got {other:?}"),
        }
        // Another address is not held back, and the wait over, this one may try again.
        bad(spray(200 + i, other, now));
        bad(spray(300 + i, addr, now));
    }
    assert_eq!(waits, [1, 2, 4, 8]);
    // The right password from the throttled address passes once its wait is over.
    let wait = match auth::sign_in_from(&folder.app, Some(addr), AUDITOR.0, AUDITOR.1, now) {
        Err(AuthError::RateLimited { retry_after }) => retry_after,
        other => panic!("expected RateLimited, got {other:?}"),
    };
    now += TimeDelta::from_std(wait).unwrap();
    auth::sign_in_from(&folder.app, Some(addr), AUDITOR.0, AUDITOR.1, now).unwrap();
    // An hour without failures and the address starts afresh.
    now += auth::ADDRESS_MEMORY;
    for i in 0..auth::ADDRESS_FREE_FAILURES {
        bad(spray(400 + i, addr, now));
    }
}

#[test]
fn one_guessing_address_holds_back_only_itself_and_many_hold_back_everyone() {
    let folder = Folder::new();
    let attacker: IpAddr = "192.0.2.66".parse().unwrap();
    let admin_desk: IpAddr = "198.51.100.7".parse().unwrap();
    let now = Utc::now();
    let from = |addr: IpAddr, name: &str, password: &str, at: DateTime<Utc>| {
        auth::sign_in_from(&folder.app, Some(addr), name, password, at).map(drop)
    };
    // The attacker guesses the admin's password (and an unknown name) from one machine until
    // each must wait there.
    let mut at = now;
    for _ in 0..auth::FREE_FAILURES {
        for name in [ADMIN.0, "no-such-admin"] {
            bad(from(attacker, name, "guess", at));
        }
        at += TimeDelta::seconds(1);
    }
    at -= TimeDelta::seconds(1);
    let known = from(attacker, ADMIN.0, ADMIN.1, at);
    let unknown = from(attacker, "no-such-admin", "guess", at);
    assert_eq!(format!("{known:?}"), format!("{unknown:?}"));
    assert_eq!(throttled(known), Duration::from_secs(1));
    // The admin, at another desk, signs in at once.
    auth::sign_in_from(&folder.app, Some(admin_desk), ADMIN.0, ADMIN.1, at).unwrap();

    // Guesses from many addresses: past NAME_FREE_FAILURES in all, the name waits everywhere,
    // known or not, the admin's desk included.
    let mut at = at + TimeDelta::seconds(1);
    for i in 0..auth::NAME_FREE_FAILURES {
        let addr: IpAddr = format!("203.0.113.{}", i + 1).parse().unwrap();
        for name in [AUDITOR.0, "no-such-auditor"] {
            bad(from(addr, name, "guess", at));
        }
        at += TimeDelta::seconds(1);
    }
    at -= TimeDelta::seconds(1);
    let known = from(admin_desk, AUDITOR.0, AUDITOR.1, at);
    let unknown = from(admin_desk, "no-such-auditor", "guess", at);
    assert_eq!(format!("{known:?}"), format!("{unknown:?}"));
    assert_eq!(throttled(known), Duration::from_secs(1));
    // Once that wait is over the right password passes.
    at += TimeDelta::seconds(1);
    auth::sign_in_from(&folder.app, Some(admin_desk), AUDITOR.0, AUDITOR.1, at).unwrap();
}
