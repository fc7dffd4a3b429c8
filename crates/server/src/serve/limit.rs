//! Rate limiting of `POST /v1/reports` per client address, without keeping addresses.
//!
//! The limiter keys a token bucket on `BLAKE3-keyed(salt, address)`, truncated to 64 bits.
//! The 32-byte salt is drawn from the operating system, lives only in this process's memory
//! and is replaced at every UTC midnight (the buckets are dropped with it), so a key cannot be
//! linked to an address, nor to the same address on another day, even by someone holding a
//! memory dump from another day. Addresses are never logged or stored.
//!
//! IPv6 clients are keyed by their /64 network: one household or device usually owns a whole
//! /64, and keying single addresses would let it rotate through 2^64 of them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use kindred_core::{OsRandom, RandomSource};

use crate::time::today;

/// Buckets kept before idle ones are dropped (bounds memory under a flood of addresses).
const MAX_BUCKETS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
struct Inner {
    salt: [u8; 32],
    day: u32,
    buckets: HashMap<u64, Bucket>,
}

/// A token bucket per (salted, hashed) client address: `per_minute` tokens, refilled
/// continuously, each report costs one.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    inner: Mutex<Inner>,
}

fn fresh_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    if let Err(e) = OsRandom.fill(&mut salt) {
        // Without the OS generator, derive one from the clock and the process: still unknown
        // outside this process, and it never leaves it.
        tracing::error!("{e}; deriving the rate-limit salt from the clock instead");
        let seed = format!("{:?} {}", Instant::now(), std::process::id());
        salt = *blake3::hash(seed.as_bytes()).as_bytes();
    }
    salt
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute: per_minute.max(1),
            inner: Mutex::new(Inner {
                salt: fresh_salt(),
                day: today(),
                buckets: HashMap::new(),
            }),
        }
    }

    /// Takes `cost` tokens for `addr`; when there are not enough, takes none and says how long
    /// to wait.
    pub fn check(&self, addr: IpAddr, cost: u32) -> Result<(), Duration> {
        self.check_at(addr, cost, Instant::now(), today())
    }

    fn check_at(&self, addr: IpAddr, cost: u32, now: Instant, day: u32) -> Result<(), Duration> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if inner.day != day {
            inner.salt = fresh_salt();
            inner.day = day;
            inner.buckets.clear();
        }
        let key = key_of(&inner.salt, addr);
        if inner.buckets.len() >= MAX_BUCKETS && !inner.buckets.contains_key(&key) {
            // Full buckets carry no information: drop them; if that is not enough, start over
            // (briefly lenient rather than unbounded).
            inner.buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second < capacity
            });
            if inner.buckets.len() >= MAX_BUCKETS {
                inner.buckets.clear();
            }
        }
        let bucket = inner.buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let refill = now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.updated = now;
        // A batch larger than the whole bucket can still pass, with a full bucket.
        let cost = f64::from(cost).min(capacity);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            let missing = cost - bucket.tokens;
            Err(Duration::from_secs_f64((missing / per_second).max(1.0)))
        }
    }
}

/// The bucket key of an address: keyed hash of its IPv4 address or IPv6 /64 prefix.
fn key_of(salt: &[u8; 32], addr: IpAddr) -> u64 {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let hash = match addr {
        IpAddr::V4(v4) => blake3::keyed_hash(salt, &v4.octets()),
        IpAddr::V6(v6) => blake3::keyed_hash(salt, &v6.octets()[..8]),
    };
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn a_bucket_empties_refills_and_is_per_address() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        let day = 20_000;
        for _ in 0..3 {
            assert!(limiter.check_at(ip("10.0.0.1"), 1, t0, day).is_ok());
        }
        let wait = limiter
            .check_at(ip("10.0.0.1"), 1, t0, day)
            .expect_err("empty bucket");
        assert_eq!(
            wait,
            Duration::from_secs(20),
            "one token per 20 s at 3/minute"
        );
        assert!(
            limiter.check_at(ip("10.0.0.2"), 1, t0, day).is_ok(),
            "another address"
        );
        let later = t0 + Duration::from_secs(21);
        assert!(
            limiter.check_at(ip("10.0.0.1"), 1, later, day).is_ok(),
            "refilled"
        );
        assert!(
            limiter.check_at(ip("10.0.0.1"), 1, later, day + 1).is_ok(),
            "a new day starts with a new salt and full buckets"
        );
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_prefix_and_mapped_ipv4_by_the_ipv4() {
        let salt = [7u8; 32];
        assert_eq!(
            key_of(&salt, ip("2001:db8:1:2::1")),
            key_of(&salt, ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            key_of(&salt, ip("2001:db8:1:2::1")),
            key_of(&salt, ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            key_of(&salt, ip("::ffff:10.0.0.1")),
            key_of(&salt, ip("10.0.0.1"))
        );
        assert_ne!(
            key_of(&[8u8; 32], ip("10.0.0.1")),
            key_of(&salt, ip("10.0.0.1"))
        );
    }
}
