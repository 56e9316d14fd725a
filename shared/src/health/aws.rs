//! [`DependencyProbe`] over the AWS SDK: `DescribeTable`, `GetQueueAttributes`, `DescribeStateMachine`.

use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::aws::AwsClients;
use crate::health::{Dependency, DependencyProbe};

/// Probes dependencies with the real AWS clients.
#[derive(Debug, Clone)]
pub struct AwsDependencyProbe {
    clients: AwsClients,
}

impl AwsDependencyProbe {
    /// Probes with copies of the clients that make one attempt each: a health check reports a
    /// dependency that does not answer, it does not wait through retries and backoff.
    #[must_use]
    pub fn new(clients: &AwsClients) -> Self {
        let once = || RetryConfig::standard().with_max_attempts(1);
        let clients = AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                clients.dynamodb.config().to_builder().retry_config(once()).build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(clients.sqs.config().to_builder().retry_config(once()).build()),
            sfn: aws_sdk_sfn::Client::from_conf(clients.sfn.config().to_builder().retry_config(once()).build()),
            secrets: clients.secrets.clone(),
            sdk: clients.sdk.clone(),
        };
        Self { clients }
    }
}

impl DependencyProbe for AwsDependencyProbe {
    #[tracing::instrument(skip(self), fields(dependency = %dependency.label()))]
    async fn probe(&self, dependency: &Dependency) -> Result<(), String> {
        match dependency {
            Dependency::Table { name } => self
                .clients
                .dynamodb
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map(drop)
                .map_err(reason),
            Dependency::Queue { url, .. } => self
                .clients
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .map(drop)
                .map_err(reason),
            Dependency::StateMachine { arn } => self
                .clients
                .sfn
                .describe_state_machine()
                .state_machine_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(reason),
        }
    }
}

/// A short reason a client may see; the full error goes to the log.
fn reason<E, R>(err: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let short = match &err {
        SdkError::DispatchFailure(_) => "unreachable".to_owned(),
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::ServiceError(e) => e.err().code().unwrap_or("service error").to_owned(),
        _ => "invalid response".to_owned(),
    };
    tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "dependency probe failed");
    short
}
