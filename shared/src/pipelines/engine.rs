//! Port: the workflow engine that runs executions (Step Functions), and its adapter.

use std::future::Future;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::Client;
use serde_json::Value;

use crate::dynamodb::sdk_error;

/// Why a task token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The attempt is over: timed out, its execution stopped or finished, or already answered.
    #[error("the stage attempt is over ({0})")]
    Over(String),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Port: starts and stops executions and answers the task tokens of their waiting states.
pub trait Engine: Send + Sync {
    /// Starts the execution named `name` with `input`; its ARN. Starting it again with the same name
    /// and input starts nothing new.
    fn start(&self, name: &str, input: &Value) -> impl Future<Output = anyhow::Result<String>> + Send;
    /// Stops a running execution (nothing when it is over).
    fn stop(&self, execution_arn: &str, cause: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn succeed(&self, token: &str, output: &Value) -> impl Future<Output = Result<(), TokenError>> + Send;
    fn fail(&self, token: &str, error: &str, cause: &str) -> impl Future<Output = Result<(), TokenError>> + Send;
    fn heartbeat(&self, token: &str) -> impl Future<Output = Result<(), TokenError>> + Send;
}

/// The pipeline state machine on Step Functions.
#[derive(Debug, Clone)]
pub struct StepFunctions {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctions {
    #[must_use]
    pub fn new(client: Client, state_machine_arn: String) -> Self {
        Self {
            client,
            state_machine_arn,
        }
    }
}

/// An error of a token call: the codes that mean the attempt is over, or something else.
fn token_error<E>(err: aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>) -> TokenError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.as_service_error().and_then(|e| e.code()).map(str::to_owned);
    match code.as_deref() {
        Some(c @ ("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")) => TokenError::Over(c.to_owned()),
        _ => TokenError::Unknown(sdk_error(err)),
    }
}

/// Step Functions' limits on an error name and a cause.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Engine for StepFunctions {
    async fn start(&self, name: &str, input: &Value) -> anyhow::Result<String> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.execution_arn)
    }

    async fn stop(&self, execution_arn: &str, cause: &str) -> anyhow::Result<()> {
        let stopped = self
            .client
            .stop_execution()
            .execution_arn(execution_arn)
            .error("Cancelled")
            .cause(clip(cause, 32_768))
            .send()
            .await;
        match stopped {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ExecutionDoesNotExist") => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn succeed(&self, token: &str, output: &Value) -> Result<(), TokenError> {
        let sent = self
            .client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await;
        sent.map(|_| ()).map_err(token_error)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TokenError> {
        let sent = self
            .client
            .send_task_failure()
            .task_token(token)
            .error(clip(error, 256))
            .cause(clip(cause, 32_768))
            .send()
            .await;
        sent.map(|_| ()).map_err(token_error)
    }

    async fn heartbeat(&self, token: &str) -> Result<(), TokenError> {
        let sent = self.client.send_task_heartbeat().task_token(token).send().await;
        sent.map(|_| ()).map_err(token_error)
    }
}
