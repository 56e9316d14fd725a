//! AWS clients, built once per cold start. Endpoints come only from the standard variables
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, …), resolved as the SDK resolves them.

use std::time::Duration;

pub mod calls;

use aws_config::environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider};
use aws_config::meta::region::ProvideRegion;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_runtime::env_config::EnvConfigValue;
use aws_types::os_shim_internal::Env;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

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

/// Lambda functions answer an API call; a connect that hangs should fail fast, not eat the timeout.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(Duration::from_secs(2)).build()
}

/// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`: the SDK's own lookup of a service's settings,
/// from the environment only (no shared config files).
#[derive(Debug)]
struct EnvOnly(Env);

impl LoadServiceConfig for EnvOnly {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let (value, _) = EnvConfigValue::new()
            .env(key.env())
            .service_id(key.service_id())
            .load(&self.0, None)?;
        Some(value.into_owned())
    }
}

impl AwsClients {
    /// Loads the shared AWS configuration through the SDK's default chains (environment, shared
    /// config files and profiles, web identity, ECS, IMDS) and builds every client from it: for the
    /// command-line client, the local gateway and the tests.
    pub async fn load() -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .load()
            .await;
        Self::from_sdk(sdk)
    }

    /// Inside a Lambda function: the region and the credentials from the variables Lambda sets
    /// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), endpoints
    /// from `AWS_ENDPOINT_URL[_<SERVICE>]`. None of the default chain's other providers is linked
    /// (shared config files, STS web identity, ECS, IMDS): each function's binary is about 0.5 MB
    /// smaller and its cold start reads no AWS config files. Not read either: `AWS_USE_FIPS_ENDPOINT`,
    /// `AWS_USE_DUALSTACK_ENDPOINT`, `AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`, `AWS_SDK_UA_APP_ID` and
    /// container credentials: the SDK's defaults apply.
    pub async fn from_env() -> Self {
        let env = Env::real();
        let region = EnvironmentVariableRegionProvider::new().region().await;
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(region)
            .credentials_provider(SharedCredentialsProvider::new(
                EnvironmentVariableCredentialsProvider::new(),
            ))
            .timeout_config(timeouts())
            .service_config(EnvOnly(env))
            .build();
        Self::from_sdk(sdk)
    }

    fn from_sdk(sdk: SdkConfig) -> Self {
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

#[cfg(test)]
mod tests;
