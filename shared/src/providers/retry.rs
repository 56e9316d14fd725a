//! Retries with exponential backoff and full jitter (honouring `Retry-After`), then the next model of
//! the fallback chain. When every attempt fails the error says which providers were tried and why.

use std::future::Future;
use std::time::Duration;

use super::{ChatResponse, ProviderError};

/// How hard to try one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: the provider's `Retry-After` if it gave one (capped),
    /// else a uniformly random wait up to `base * 2^attempt` (full jitter).
    #[must_use]
    pub fn delay(&self, attempt: u32, error: &ProviderError, unit_random: f64) -> Duration {
        if let ProviderError::RateLimited {
            retry_after: Some(after),
        } = error
        {
            return (*after).min(self.max_delay);
        }
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        ceiling.mul_f64(unit_random.clamp(0.0, 1.0))
    }
}

/// One provider that failed for good, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub provider: String,
    pub model: String,
    pub attempts: u32,
    pub error: ProviderError,
}

/// Every provider of the chain failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("all providers failed: {}", describe(.0))]
pub struct AllFailed(pub Vec<Tried>);

fn describe(tried: &[Tried]) -> String {
    let parts: Vec<String> = tried
        .iter()
        .map(|t| {
            format!(
                "{} ({}) after {} attempt(s): {}",
                t.provider, t.model, t.attempts, t.error
            )
        })
        .collect();
    parts.join("; ")
}

/// A random number in [0, 1) from the operating system, for jitter.
#[must_use]
pub fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    // Jitter only spreads retries out; if the random source fails, no jitter is still correct.
    if getrandom::fill(&mut bytes).is_err() {
        return 1.0;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Tries each `(provider, model)` of `chain` in order, each up to `policy.max_attempts` times while
/// its errors are retryable, sleeping with `sleep` between attempts.
///
/// # Errors
/// [`AllFailed`] listing every provider tried, when none answered.
pub async fn with_fallback<F, Fut, S, SFut>(
    chain: &[(String, String)],
    policy: RetryPolicy,
    mut call: F,
    mut sleep: S,
) -> Result<ChatResponse, AllFailed>
where
    F: FnMut(&str, &str) -> Fut,
    Fut: Future<Output = Result<ChatResponse, ProviderError>>,
    S: FnMut(Duration) -> SFut,
    SFut: Future<Output = ()>,
{
    let mut tried = Vec::new();
    for (provider, model) in chain {
        let mut attempt = 0;
        let error = loop {
            attempt += 1;
            match call(provider, model).await {
                Ok(response) => return Ok(response),
                Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                    tracing::warn!(%provider, %model, attempt, error = %e, "provider call failed; retrying");
                    sleep(policy.delay(attempt - 1, &e, unit_random())).await;
                }
                Err(e) => break e,
            }
        };
        tracing::warn!(%provider, %model, attempts = attempt, error = %error, "provider gave up; next in chain");
        tried.push(Tried {
            provider: provider.clone(),
            model: model.clone(),
            attempts: attempt,
            error,
        });
    }
    Err(AllFailed(tried))
}

#[cfg(test)]
mod tests;
