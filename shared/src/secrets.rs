//! Secrets from AWS Secrets Manager: a variable `FOO_ARN=arn:aws:secretsmanager:…` becomes `FOO`, read
//! once per cold start, so a secret never has to sit in the function's environment.

use std::future::Future;

use crate::config::{Config, ConfigError};

/// Port: reads a secret's string value.
pub trait SecretSource: Send + Sync {
    fn secret_string(&self, arn: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// [`SecretSource`] over the AWS SDK (`AWS_ENDPOINT_URL_SECRETS_MANAGER` picks the endpoint locally).
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    #[must_use]
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }
}

impl SecretSource for SecretsManager {
    #[tracing::instrument(skip(self))]
    async fn secret_string(&self, arn: &str) -> anyhow::Result<String> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
        out.secret_string
            .ok_or_else(|| anyhow::anyhow!("secret {arn} has no string value"))
    }
}

/// Replaces each `FOO_ARN` that names a Secrets Manager secret with `FOO` holding its value.
///
/// # Errors
/// [`ConfigError::Invalid`] when both `FOO` and `FOO_ARN` are set, or a secret cannot be read.
pub async fn resolve(
    vars: Vec<(String, String)>,
    source: &impl SecretSource,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::with_capacity(vars.len());
    for (name, value) in &vars {
        let target = name
            .strip_suffix("_ARN")
            .filter(|_| value.starts_with("arn:aws:secretsmanager:"));
        let Some(target) = target else {
            out.push((name.clone(), value.clone()));
            continue;
        };
        if vars.iter().any(|(n, v)| n == target && !v.is_empty()) {
            let reason = format!("set {target} or {name}, not both");
            return Err(ConfigError::Invalid { name: "*_ARN", reason });
        }
        let secret = source.secret_string(value).await.map_err(|e| ConfigError::Invalid {
            name: "*_ARN",
            reason: format!("{name}: cannot read the secret: {e}"),
        })?;
        out.push((target.to_owned(), secret));
    }
    Ok(out)
}

impl Config {
    /// [`Config::from_env`], with `*_ARN` secrets read from Secrets Manager first.
    ///
    /// # Errors
    /// As [`Config::from_env`] and [`resolve`].
    pub async fn load(source: &impl SecretSource) -> Result<Self, ConfigError> {
        Self::from_vars(resolve(std::env::vars().collect(), source).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl SecretSource for Fixed {
        async fn secret_string(&self, arn: &str) -> anyhow::Result<String> {
            match arn {
                "arn:aws:secretsmanager:us-east-1:1:secret:mcpflow/jwt" => Ok("from-the-secret".into()),
                _ => anyhow::bail!("ResourceNotFoundException"),
            }
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[tokio::test]
    async fn an_arn_variable_becomes_the_secret_and_others_are_left_alone() {
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:mcpflow/jwt";
        let out = resolve(
            vars(&[("JWT_HS256_SECRET_ARN", arn), ("QUEUE_ARN", "arn:aws:sqs:x")]),
            &Fixed,
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            vars(&[("JWT_HS256_SECRET", "from-the-secret"), ("QUEUE_ARN", "arn:aws:sqs:x")])
        );
    }

    #[tokio::test]
    async fn both_forms_at_once_or_an_unreadable_secret_are_errors() {
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:mcpflow/jwt";
        let both = resolve(
            vars(&[("JWT_HS256_SECRET", "x"), ("JWT_HS256_SECRET_ARN", arn)]),
            &Fixed,
        )
        .await;
        assert!(both.unwrap_err().to_string().contains("not both"));
        let missing = "arn:aws:secretsmanager:us-east-1:1:secret:nope";
        let err = resolve(vars(&[("OPENAI_API_KEY_ARN", missing)]), &Fixed)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("OPENAI_API_KEY_ARN: cannot read the secret"),
            "{err}"
        );
    }
}
