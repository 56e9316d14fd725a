//! [`DependencyProbe`] over the AWS SDK: `DescribeTable`, `GetQueueAttributes`, `DescribeStateMachine`.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::aws::AwsClients;
use crate::health::{Dependency, DependencyProbe};

/// Probes dependencies with the real AWS clients.
#[derive(Debug, Clone)]
pub struct AwsDependencyProbe {
    clients: AwsClients,
}

impl AwsDependencyProbe {
    #[must_use]
    pub fn new(clients: AwsClients) -> Self {
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
