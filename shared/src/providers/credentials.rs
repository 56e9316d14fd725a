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

    /// Drops the key kept for `arn`: the call it made failed (a revoked or rotated key is then read
    /// afresh by the next call, not used for the rest of [`KEEP_FOR`]).
    pub fn forget(&self, arn: &str) {
        if let Ok(mut kept) = self.kept.lock() {
            kept.remove(arn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_forgotten_key_is_read_again() {
        use aws_sdk_secretsmanager::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
        let nowhere = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .build();
        let keys = SecretKeys::new(SecretsManager::new(aws_sdk_secretsmanager::Client::from_conf(nowhere)));
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mcpflow/tenants/acme/k";
        keys.kept
            .lock()
            .unwrap()
            .insert(arn.to_owned(), (Instant::now(), Secret::new("sk-kept".into())));
        assert_eq!(keys.key(arn).await.unwrap().expose(), "sk-kept", "kept: no read");
        keys.forget(arn);
        let err = keys.key(arn).await.unwrap_err();
        assert!(err.contains("could not be read") && !err.contains("sk-kept"), "{err}");
    }
}
