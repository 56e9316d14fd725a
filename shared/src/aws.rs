//! AWS clients, built once per cold start. Endpoints come only from the standard variables
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, …) that the SDK reads itself.

use std::time::Duration;

pub mod calls;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;

/// The AWS clients the functions use.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The loaded configuration, for clients built later with their own settings (Bedrock).
    pub sdk: aws_config::SdkConfig,
}

impl AwsClients {
    /// Loads the shared AWS configuration once and builds every client from it.
    pub async fn load() -> Self {
        // Lambda functions answer an API call; a connect that hangs should fail fast, not eat the timeout.
        let timeouts = TimeoutConfig::builder().connect_timeout(Duration::from_secs(2)).build();
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts)
            .load()
            .await;
        let counted = calls::enabled();
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        let dynamodb = if counted {
            dynamodb.interceptor(calls::Counter("DynamoDB"))
        } else {
            dynamodb
        };
        let sqs = aws_sdk_sqs::config::Builder::from(&sdk);
        let sqs = if counted {
            sqs.interceptor(calls::Counter("SQS"))
        } else {
            sqs
        };
        let sfn = aws_sdk_sfn::config::Builder::from(&sdk);
        let sfn = if counted {
            sfn.interceptor(calls::Counter("StepFunctions"))
        } else {
            sfn
        };
        let secrets = aws_sdk_secretsmanager::config::Builder::from(&sdk);
        let secrets = if counted {
            secrets.interceptor(calls::Counter("SecretsManager"))
        } else {
            secrets
        };
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            sfn: aws_sdk_sfn::Client::from_conf(sfn.build()),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets.build()),
            sdk,
        }
    }
}
