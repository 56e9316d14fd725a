//! Provider keys kept in Secrets Manager (an integration's `{"secret_arn": …}`), read when a call
//! needs one and kept for [`KEEP_FOR`] per instance, so a rotated key is picked up within that.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::secret::Secret;
use crate::secrets::{SecretSource, SecretsManager};

/// How long a key read is kept.
pub const KEEP_FOR: Duration = Duration::from_secs(300);

/// Keys by secret ARN.
#[derive(Debug)]
pub struct SecretKeys {
    source: SecretsManager,
    kept: Mutex<HashMap<String, (Instant, Secret)>>,
}

impl SecretKeys {
    #[must_use]
    pub fn new(source: SecretsManager) -> Self {
        Self {
            source,
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// The secret's string value: the provider key.
    ///
    /// # Errors
    /// Why it could not be read (never the value).
    pub async fn key(&self, arn: &str) -> Result<Secret, String> {
        let kept = self.kept.lock().ok().and_then(|k| k.get(arn).cloned());
        if let Some((_, key)) = kept.filter(|(at, _)| at.elapsed() < KEEP_FOR) {
            return Ok(key);
        }
        let value = self
            .source
            .secret_string(arn)
            .await
            .map_err(|e| format!("the credential secret {arn} could not be read: {e:#}"))?;
        let key = Secret::new(value.trim().to_owned());
        if let Ok(mut kept) = self.kept.lock() {
            kept.insert(arn.to_owned(), (Instant::now(), key.clone()));
        }
        Ok(key)
    }
}
