//! The port to the functions: the Lambda Invoke API (`cargo lambda watch` serves it locally).

use std::future::Future;

use aws_sdk_lambda::primitives::Blob;

/// Invokes a function by name with a JSON payload and returns its JSON answer.
pub trait Invoker: Send + Sync + 'static {
    fn invoke(&self, function: &str, payload: Vec<u8>) -> impl Future<Output = Result<Vec<u8>, InvokeError>> + Send;
}

impl<T: Invoker> Invoker for std::sync::Arc<T> {
    fn invoke(&self, function: &str, payload: Vec<u8>) -> impl Future<Output = Result<Vec<u8>, InvokeError>> + Send {
        (**self).invoke(function, payload)
    }
}

/// Why an invocation gave no answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran and failed (`X-Amz-Function-Error`): an error return, a panic, a crash.
    #[error("function {function} failed ({kind}): {payload}")]
    Function {
        function: String,
        kind: String,
        payload: String,
    },
    /// The Invoke API could not be reached or refused the call.
    #[error("function {function} could not be invoked: {reason}")]
    Unreachable { function: String, reason: String },
}

/// [`Invoker`] over the AWS SDK's Lambda client; `AWS_ENDPOINT_URL_LAMBDA` picks the endpoint.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    #[must_use]
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

impl Invoker for LambdaInvoker {
    #[tracing::instrument(skip(self, payload), fields(bytes = payload.len()))]
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| InvokeError::Unreachable {
                function: function.to_owned(),
                reason: aws_sdk_lambda::error::DisplayErrorContext(&e).to_string(),
            })?;
        let body = out.payload().map(|b| b.as_ref().to_vec()).unwrap_or_default();
        match out.function_error() {
            Some(kind) => Err(InvokeError::Function {
                function: function.to_owned(),
                kind: kind.to_owned(),
                payload: String::from_utf8_lossy(&body).into_owned(),
            }),
            None => Ok(body),
        }
    }
}
