//! Sign-in throttling: how long a name, a name from one address, or an address must wait
//! after failed sign-ins, and the in-memory half of it (names no account has, addresses).
//! Below `appliance` (which holds a [`Throttle`]) and `auth` (which applies it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// Consecutive failed sign-ins a name may have from one address before each further attempt
/// for it from there must wait.
pub const FREE_FAILURES: i64 = 5;

/// Consecutive failed sign-ins a name may have from all addresses together before each
/// further attempt for it, from anywhere, must wait: a guesser with one machine holds back
/// only its own attempts (after [`FREE_FAILURES`]); only one with many addresses slows
/// everyone's, and then no more than the waits allow.
pub const NAME_FREE_FAILURES: i64 = 25;

/// Failed sign-ins one address may have (within [`ADDRESS_MEMORY`]) before each further attempt
/// from it must wait.
pub const ADDRESS_FREE_FAILURES: i64 = 20;

/// The longest wait between attempts, for a name or an address.
pub const MAX_DELAY: TimeDelta = TimeDelta::minutes(5);

/// An address's failures are forgotten once it has had none for this long.
pub const ADDRESS_MEMORY: TimeDelta = TimeDelta::hours(1);

/// How long the next attempt must wait after the `failures`th consecutive failure when the
/// first `free` are free: nothing up to `free`, then 1 s, 2 s, 4 s, … doubling with each
/// further failure, at most [`MAX_DELAY`]. An attempt made while waiting is refused without a
/// password check and does not count, so an attacker cannot lengthen the wait beyond what
/// the right password, tried once it ends, passes.
pub fn delay_after(failures: i64, free: i64) -> TimeDelta {
    if failures < free {
        return TimeDelta::zero();
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(20);
    TimeDelta::seconds(1_i64 << doublings).min(MAX_DELAY)
}

/// When the next attempt may be made after the `failures`th consecutive failure at `now`.
pub(crate) fn next_attempt(failures: i64, free: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let delay = delay_after(failures, free);
    (delay > TimeDelta::zero()).then(|| now + delay)
}

/// How long `until` is after `now`, if it is.
pub(crate) fn wait_until(until: DateTime<Utc>, now: DateTime<Utc>) -> Option<Duration> {
    (until > now).then(|| (until - now).to_std().unwrap_or_default())
}

/// Names (and addresses) tracked in memory before the oldest are forgotten.
const THROTTLE_TRACKED: usize = 16_384;

/// Failures of one unknown name or one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: i64,
    last: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

/// The in-memory half of sign-in throttling: failures of names no account has (accounts keep
/// theirs in the database), of each name from each address, and of each address (IPv6 per
/// /64). Bounded: past [`THROTTLE_TRACKED`] entries in a map the least recently failed are
/// forgotten.
#[derive(Debug, Default)]
pub struct Throttle {
    names: Mutex<HashMap<String, Failures>>,
    pairs: Mutex<HashMap<(String, Option<IpAddr>), Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

impl Throttle {
    pub(crate) fn pair_wait(
        &self,
        name: &str,
        remote: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        let pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        wait_until(
            pairs.get(&(name.to_owned(), remote.map(bucket)))?.next?,
            now,
        )
    }

    pub(crate) fn pair_failed(
        &self,
        name: &str,
        remote: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> (i64, Option<DateTime<Utc>>) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        let key = (name.to_owned(), remote.map(bucket));
        let f = failed(&mut pairs, key, FREE_FAILURES, None, now);
        (f.count, f.next)
    }

    /// Forgets a name's failures from every address (it signed in).
    pub(crate) fn name_cleared(&self, name: &str) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
        pairs.retain(|(n, _), _| n != name);
    }

    pub(crate) fn name_wait(&self, name: &str, now: DateTime<Utc>) -> Option<Duration> {
        let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        wait_until(names.get(name)?.next?, now)
    }

    pub(crate) fn name_failed(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> (i64, Option<DateTime<Utc>>) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let f = failed(&mut names, name.to_owned(), NAME_FREE_FAILURES, None, now);
        (f.count, f.next)
    }

    pub(crate) fn address_wait(&self, addr: IpAddr, now: DateTime<Utc>) -> Option<Duration> {
        let addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        let f = addresses.get(&bucket(addr))?;
        if now - f.last >= ADDRESS_MEMORY {
            return None;
        }
        wait_until(f.next?, now)
    }

    pub(crate) fn address_failed(&self, addr: IpAddr, now: DateTime<Utc>) {
        let mut addresses = self.addresses.lock().unwrap_or_else(|p| p.into_inner());
        failed(
            &mut addresses,
            bucket(addr),
            ADDRESS_FREE_FAILURES,
            Some(ADDRESS_MEMORY),
            now,
        );
    }
}

/// Counts a failure for `key` at `now` (starting again once `memory` has passed since the last
/// one), forgetting the least recently failed entries when the map is full.
fn failed<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Failures>,
    key: K,
    free: i64,
    memory: Option<TimeDelta>,
    now: DateTime<Utc>,
) -> Failures {
    if map.len() >= THROTTLE_TRACKED && !map.contains_key(&key) {
        let mut lasts: Vec<DateTime<Utc>> = map.values().map(|f| f.last).collect();
        lasts.sort_unstable();
        let cut = lasts[lasts.len() / 2];
        map.retain(|_, f| f.last > cut);
    }
    let entry = map.entry(key).or_insert(Failures {
        count: 0,
        last: now,
        next: None,
    });
    if memory.is_some_and(|m| now - entry.last >= m) {
        entry.count = 0;
    }
    entry.count = entry.count.saturating_add(1);
    entry.last = now;
    entry.next = next_attempt(entry.count, free, now);
    *entry
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64.
pub(crate) fn bucket(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}
