//! What every capability's DynamoDB store shares: the table's key encoding ([`table_keys`]) and the
//! SDK error helpers. Each capability's store is its own `dynamodb` module (`keys::dynamodb`,
//! `audit::dynamodb`, `ratelimit::dynamodb`, `conversation::dynamodb`, `registered::dynamodb`).

pub mod table_keys;

/// An AWS SDK error as an `anyhow` error carrying its whole cause chain (for logs; never shown to a
/// client).
pub(crate) fn sdk_error<E: std::error::Error + Send + Sync + 'static>(err: E) -> anyhow::Error {
    anyhow::anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string())
}

/// An AWS SDK error as the conversation stores' unknown error.
pub(crate) fn store_error<E: std::error::Error + Send + Sync + 'static>(
    err: E,
) -> crate::conversation::store::StoreError {
    crate::conversation::store::StoreError::Unknown(sdk_error(err))
}

/// A DynamoDB client of the table served at `base` (a replay server), without retries.
#[cfg(test)]
pub(crate) fn replay_client(base: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(base)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}
