//! `s3://bucket/key` objects: what `data-ingestion` reads and `output` writes. The client comes from
//! the standard AWS configuration (credentials, region, `AWS_ENDPOINT_URL_S3`): real S3 in AWS, moto
//! on the local stack (which wants path-style addresses).

use anyhow::{bail, Context as _};
use aws_sdk_s3::error::ProvideErrorMetadata;

/// Where objects are read and written.
#[derive(Debug, Clone)]
pub struct Storage {
    client: aws_sdk_s3::Client,
}

/// `(bucket, key)` of an `s3://bucket/key` URL.
///
/// # Errors
/// When it is not one.
pub fn parse(url: &str) -> anyhow::Result<(&str, &str)> {
    let rest = url.strip_prefix("s3://").context("not an s3:// URL")?;
    match rest.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok((bucket, key)),
        _ => bail!("{url} must be s3://<bucket>/<key>"),
    }
}

/// An S3 error in a line: its code and message (the whole context goes to the log).
fn failed<E, R>(url: &str, err: &aws_sdk_s3::error::SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    tracing::warn!(%url, error = %aws_sdk_s3::error::DisplayErrorContext(err), "S3 call failed");
    match err.as_service_error() {
        Some(e) => anyhow::anyhow!(
            "{url}: {} {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or_default()
        ),
        None => anyhow::anyhow!("{url}: S3 could not be reached"),
    }
}

impl Storage {
    /// From the environment's AWS configuration; `path_style` for endpoints that want it (moto).
    pub async fn from_env(path_style: bool) -> Self {
        let sdk = aws_config::load_from_env().await;
        let config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(path_style)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }

    /// The client, for what this module does not wrap.
    #[must_use]
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The object's bytes.
    ///
    /// # Errors
    /// When the URL is not an S3 one, or the object cannot be read.
    pub async fn get(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        let (bucket, key) = parse(url)?;
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{url}: {}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(object
            .body
            .collect()
            .await
            .context("reading the object")?
            .into_bytes()
            .to_vec())
    }

    /// Writes `body` (JSON) to the object.
    ///
    /// # Errors
    /// When the URL is not an S3 one, or the object cannot be written.
    pub async fn put(&self, url: &str, body: Vec<u8>) -> anyhow::Result<()> {
        let (bucket, key) = parse(url)?;
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(body.into())
            .send()
            .await
            .map_err(|e| failed(url, &e))?;
        Ok(())
    }
}
