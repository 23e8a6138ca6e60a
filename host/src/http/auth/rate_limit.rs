//! Rate limits: one GCRA bucket (governor) per API key, or per client
//! address while requests are not authenticated (development without a
//! master key). A tenant token spends its signing key's bucket, so one coach
//! app gets one budget however many tokens it mints.
//!
//! Without a master key, requests from this machine (loopback) are not
//! limited: local tools, tests and benches keep working as before, while a
//! development server reachable from the network is still protected.

use super::Caller;
use crate::domain::access::KeyUid;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    Master,
    Key(KeyUid),
    Address(IpAddr),
    /// No key and no known address (a server without connect info).
    Unknown,
}

/// Whose budget a request from `peer` by `caller` spends; `None`: unlimited.
pub fn rate_key(caller: Caller, peer: Option<IpAddr>) -> Option<RateKey> {
    match caller {
        Caller::Master => Some(RateKey::Master),
        Caller::Key(uid) | Caller::TenantToken(uid) => Some(RateKey::Key(uid)),
        Caller::Anonymous => match peer {
            Some(ip) if ip.is_loopback() => None,
            Some(ip) => Some(RateKey::Address(ip)),
            None => Some(RateKey::Unknown),
        },
    }
}

/// Buckets not touched for a while are forgotten every this many checks,
/// so addresses seen once do not accumulate.
const SWEEP_EVERY: u64 = 4096;

pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<RateKey>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl RateLimit {
    /// `per_second` sustained, up to `burst` at once.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Spends one request of `key`'s budget, or says how long to wait.
    pub fn check(&self, key: &RateKey) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    #[test]
    fn a_burst_passes_then_the_key_waits_while_others_do_not() {
        let limit = RateLimit::new(n(1), n(3));
        let a = RateKey::Key(KeyUid::generate());
        for _ in 0..3 {
            assert!(limit.check(&a).is_ok());
        }
        let wait = limit.check(&a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limit.check(&RateKey::Key(KeyUid::generate())).is_ok());
        assert!(limit.check(&RateKey::Master).is_ok());
    }

    #[test]
    fn keys_spend_their_own_budget_and_tokens_their_keys() {
        let uid = KeyUid::generate();
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            rate_key(Caller::Key(uid), Some(remote)),
            Some(RateKey::Key(uid))
        );
        assert_eq!(
            rate_key(Caller::TenantToken(uid), None),
            Some(RateKey::Key(uid))
        );
        assert_eq!(
            rate_key(Caller::Master, Some(remote)),
            Some(RateKey::Master)
        );
        assert_eq!(
            rate_key(Caller::Anonymous, Some(remote)),
            Some(RateKey::Address(remote))
        );
        assert_eq!(rate_key(Caller::Anonymous, None), Some(RateKey::Unknown));
        for local in ["127.0.0.1", "::1"] {
            assert_eq!(
                rate_key(Caller::Anonymous, Some(local.parse().unwrap())),
                None
            );
        }
        // A key is limited even from this machine.
        assert!(rate_key(Caller::Key(uid), Some("127.0.0.1".parse().unwrap())).is_some());
    }

    #[test]
    fn sweeping_keeps_buckets_that_are_still_refilling() {
        let limit = RateLimit::new(n(1), n(1));
        let a = RateKey::Address("127.0.0.1".parse().unwrap());
        assert!(limit.check(&a).is_ok());
        for i in 0..SWEEP_EVERY {
            let _ = limit.check(&RateKey::Address(IpAddr::from([
                10,
                0,
                (i >> 8) as u8,
                i as u8,
            ])));
        }
        assert!(limit.check(&a).is_err(), "the sweep reset a limited bucket");
    }
}
