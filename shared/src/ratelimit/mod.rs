//! Per-principal rate limits: a token bucket of `requests` tokens refilled evenly over `per`, kept as
//! one timestamp (GCRA, the "theoretical arrival time"), so each request is one conditional update.

pub mod dynamodb;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Mutex;

use crate::auth::Role;

/// `requests` per `per_secs`, with a burst of `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub per_secs: u32,
}

impl Limit {
    /// Milliseconds between two refilled tokens.
    #[must_use]
    pub fn interval_ms(self) -> i64 {
        i64::from(self.per_secs) * 1000 / i64::from(self.requests.max(1))
    }

    /// How far the arrival time may run ahead of now and still admit a request.
    #[must_use]
    pub fn burst_ms(self) -> i64 {
        self.interval_ms() * i64::from(self.requests.saturating_sub(1))
    }
}

/// Limits by role, from `RATE_LIMITS` (`admin=600/60,viewer=120/60`: requests per seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits(pub BTreeMap<Role, Limit>);

pub const DEFAULT_RATE_LIMITS: &str = "admin=600/60,operator=300/60,agent=600/60,viewer=120/60";

impl RateLimits {
    /// Parses `role=requests/seconds,…`; every role must have a limit.
    ///
    /// # Errors
    /// A message naming the part that does not parse or the role without a limit.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut limits = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("{part:?} is not role=requests/seconds");
            let (role, rate) = part.split_once('=').ok_or_else(bad)?;
            let (requests, per) = rate.split_once('/').ok_or_else(bad)?;
            let limit = Limit {
                requests: requests.parse().map_err(|_| bad())?,
                per_secs: per.parse().map_err(|_| bad())?,
            };
            if limit.requests == 0 || limit.per_secs == 0 {
                return Err(bad());
            }
            // The bucket counts whole milliseconds between requests.
            if u64::from(limit.requests) > u64::from(limit.per_secs) * 1000 {
                return Err(format!("{part:?}: at most 1000 requests a second"));
            }
            limits.insert(role.parse::<Role>()?, limit);
        }
        match Role::ALL.into_iter().find(|r| !limits.contains_key(r)) {
            Some(missing) => Err(format!("no rate limit for role {missing}")),
            None => Ok(Self(limits)),
        }
    }

    #[must_use]
    pub fn for_role(&self, role: Role) -> Limit {
        self.0.get(&role).copied().unwrap_or(Limit {
            requests: 60,
            per_secs: 60,
        })
    }
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Limited { retry_after_secs: u64 },
}

/// The bucket's next arrival time if the request is admitted, else how long until it would be.
///
/// # Errors
/// The wait in milliseconds when the bucket is empty.
pub fn gcra(tat: Option<i64>, limit: Limit, now_ms: i64) -> Result<i64, i64> {
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let ahead = tat - now_ms;
    if ahead > limit.burst_ms() {
        Err(ahead - limit.burst_ms())
    } else {
        Ok(tat + limit.interval_ms())
    }
}

/// Seconds to put in `Retry-After` for a wait in milliseconds (at least 1).
#[must_use]
pub fn retry_after_secs(wait_ms: i64) -> u64 {
    u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1)
}

/// Whose requests a bucket counts: one bucket per tenant and subject (API key id or JWT subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket<'a> {
    pub tenant: &'a str,
    pub subject: &'a str,
}

/// Port: admits or limits one request of a bucket.
pub trait RateLimiter: Send + Sync {
    fn admit(
        &self,
        bucket: Bucket<'_>,
        limit: Limit,
        now_ms: i64,
    ) -> impl Future<Output = anyhow::Result<Admission>> + Send;
}

/// In-memory [`RateLimiter`] for unit tests.
#[derive(Debug, Default)]
pub struct InMemoryRateLimiter {
    tats: Mutex<HashMap<(String, String), i64>>,
}

impl RateLimiter for InMemoryRateLimiter {
    async fn admit(&self, bucket: Bucket<'_>, limit: Limit, now_ms: i64) -> anyhow::Result<Admission> {
        let key = (bucket.tenant.to_owned(), bucket.subject.to_owned());
        let mut tats = self.tats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match gcra(tats.get(&key).copied(), limit, now_ms) {
            Ok(next) => {
                tats.insert(key, next);
                Ok(Admission::Admitted)
            }
            Err(wait) => Ok(Admission::Limited {
                retry_after_secs: retry_after_secs(wait),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exactly_the_burst_passes_then_one_token_per_interval() {
        let limiter = InMemoryRateLimiter::default();
        let b = Bucket {
            tenant: "t",
            subject: "b",
        };
        let limit = Limit {
            requests: 5,
            per_secs: 10,
        };
        let mut admitted = 0;
        for _ in 0..15 {
            if limiter.admit(b, limit, 0).await.unwrap() == Admission::Admitted {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 5);
        assert_eq!(
            limiter.admit(b, limit, 0).await.unwrap(),
            Admission::Limited { retry_after_secs: 2 }
        );
        assert_eq!(limiter.admit(b, limit, 2_000).await.unwrap(), Admission::Admitted);
        assert!(matches!(
            limiter.admit(b, limit, 2_000).await.unwrap(),
            Admission::Limited { .. }
        ));
        assert_eq!(
            limiter.admit(Bucket { subject: "other", ..b }, limit, 0).await.unwrap(),
            Admission::Admitted
        );
    }

    #[test]
    fn a_limit_finer_than_one_request_a_millisecond_is_refused() {
        let text = "admin=60001/60,operator=1/1,agent=1/1,viewer=1/1";
        assert!(RateLimits::parse(text)
            .unwrap_err()
            .contains("at most 1000 requests a second"));
        assert!(RateLimits::parse("admin=60000/60,operator=1/1,agent=1/1,viewer=1/1").is_ok());
    }

    #[test]
    fn limits_parse_per_role_and_every_role_needs_one() {
        let limits = RateLimits::parse(DEFAULT_RATE_LIMITS).unwrap();
        assert_eq!(
            limits.for_role(Role::Viewer),
            Limit {
                requests: 120,
                per_secs: 60
            }
        );
        assert_eq!(
            RateLimits::parse("admin=1/1").unwrap_err(),
            "no rate limit for role operator"
        );
        assert!(RateLimits::parse("admin=0/60")
            .unwrap_err()
            .contains("not role=requests/seconds"));
    }
}
