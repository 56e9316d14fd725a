//! The one place where a capability's errors become the HTTP error envelope: a `From` impl per
//! error type, so a handler ends its calls with `?`. Internal failures keep their cause for the log
//! line and answer a bare `500 INTERNAL_ERROR`.

use serde_json::json;

use super::ApiError;
use crate::agents::AgentError;
use crate::connections::subscribe::SubscribeError;
use crate::contexts::requests::Invalid;
use crate::conversation::errors::ConversationError;
use crate::integrations::IntegrationError;
use crate::keys::admin::{CreateKeyError, RevokeKeyError};
use crate::pipelines::PipelineError;
use crate::registered::RegistryError;

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        Self::bad_request("INVALID_REQUEST", i.to_string()).with_details(json!({"field": i.field}))
    }
}

impl From<ConversationError> for ApiError {
    fn from(err: ConversationError) -> Self {
        let message = err.to_string();
        match err {
            ConversationError::Invalid(i) => i.into(),
            ConversationError::ModelNotFound { available, .. } => {
                Self::bad_request("MODEL_NOT_FOUND", message).with_details(json!({"available": available}))
            }
            ConversationError::ContextNotFound(_) => Self::not_found("CONTEXT_NOT_FOUND", message),
            ConversationError::TaskNotFound(_) => Self::not_found("TASK_NOT_FOUND", message),
            ConversationError::NodeNotFound(_) => Self::not_found("NODE_NOT_FOUND", message),
            ConversationError::TaskFinished(..) => Self::new(409, "TASK_ALREADY_FINISHED", message),
            ConversationError::StageTask(_) => Self::new(409, "TASK_IS_A_STAGE", message),
            ConversationError::ContextLimit { max, .. } => {
                Self::new(409, "CONTEXT_LIMIT_REACHED", message).with_details(json!({"limit": max}))
            }
            ConversationError::ContextFull { max, .. } => {
                Self::new(409, "CONTEXT_FULL", message).with_details(json!({"limit": max}))
            }
            ConversationError::ContextTooLarge { max, allowance, .. } => Self::new(422, "CONTEXT_TOO_LARGE", message)
                .with_details(json!({"limit_bytes": max, "reply_allowance_bytes": allowance})),
            ConversationError::Unknown(e) => Self::unknown("conversation operation failed", &e),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        let message = err.to_string();
        match err {
            RegistryError::EndpointFailed(_) => Self::new(502, "TOOL_ENDPOINT_FAILED", message),
            RegistryError::Invalid { field, .. } => {
                Self::bad_request("INVALID_REQUEST", message).with_details(json!({"field": field}))
            }
            RegistryError::NotFound { kind, .. } => Self::not_found(kind.not_found_code(), message),
            RegistryError::Exists { .. } => Self::new(409, "ALREADY_REGISTERED", message),
            RegistryError::LimitReached => Self::new(409, "REGISTRY_LIMIT_REACHED", message),
            RegistryError::Unknown(e) => Self::unknown("registry operation failed", &e),
        }
    }
}

impl From<AgentError> for ApiError {
    fn from(err: AgentError) -> Self {
        let message = err.to_string();
        match err {
            AgentError::Invalid { field, .. } => {
                Self::bad_request("INVALID_REQUEST", message).with_details(json!({"field": field}))
            }
            AgentError::NotFound(_) => Self::not_found("AGENT_NOT_FOUND", message),
            AgentError::NotThisAgent(_) => Self::new(403, "NOT_THIS_AGENT", message),
            AgentError::KeysExhausted => Self::new(409, "KEY_LIMIT_REACHED", message)
                .with_details(json!({"limit": crate::keys::MAX_KEYS_PER_TENANT})),
            AgentError::Unknown(e) => Self::unknown("agent operation failed", &e),
        }
    }
}

impl From<PipelineError> for ApiError {
    fn from(err: PipelineError) -> Self {
        let message = err.to_string();
        match err {
            PipelineError::Invalid { field, .. } => {
                Self::bad_request("INVALID_REQUEST", message).with_details(json!({"field": field}))
            }
            PipelineError::NotFound(_) => Self::not_found("PIPELINE_NOT_FOUND", message),
            PipelineError::LimitReached => Self::new(409, "PIPELINE_LIMIT_REACHED", message)
                .with_details(json!({"limit": crate::pipelines::MAX_PIPELINES_PER_TENANT})),
            PipelineError::ExecutionNotFound(_) => Self::not_found("EXECUTION_NOT_FOUND", message),
            PipelineError::ExecutionFinished(_, status) => {
                Self::new(409, "EXECUTION_FINISHED", message).with_details(json!({"status": status}))
            }
            PipelineError::TaskNotFound(_) => Self::not_found("TASK_NOT_FOUND", message),
            PipelineError::NotYourTask(_) => Self::new(403, "NOT_YOUR_TASK", message),
            PipelineError::TaskOver { code, .. } => Self::new(409, code, message),
            PipelineError::Agent(e) => e.into(),
            PipelineError::Unknown(e) => Self::unknown("pipeline operation failed", &e),
        }
    }
}

impl From<IntegrationError> for ApiError {
    fn from(err: IntegrationError) -> Self {
        let message = err.to_string();
        match err {
            IntegrationError::Invalid { field, .. } => {
                Self::bad_request("INVALID_REQUEST", message).with_details(json!({"field": field}))
            }
            IntegrationError::RawCredential { field } => {
                Self::bad_request("RAW_CREDENTIAL", message).with_details(json!({"field": field}))
            }
            IntegrationError::NotFound(_) => Self::not_found("INTEGRATION_NOT_FOUND", message),
            IntegrationError::LimitReached => Self::new(409, "INTEGRATION_LIMIT_REACHED", message)
                .with_details(json!({"limit": crate::integrations::MAX_INTEGRATIONS_PER_TENANT})),
            IntegrationError::VersionMismatch { current, .. } => {
                Self::new(412, "VERSION_MISMATCH", message).with_details(json!({"current_version": current}))
            }
            IntegrationError::PreconditionRequired => Self::new(428, "PRECONDITION_REQUIRED", message),
            IntegrationError::InUse { completion_id, .. } => {
                Self::new(409, "INTEGRATION_IN_USE", message).with_details(json!({"completion_id": completion_id}))
            }
            IntegrationError::Unknown(e) => Self::unknown("integration operation failed", &e),
        }
    }
}

impl From<SubscribeError> for ApiError {
    fn from(err: SubscribeError) -> Self {
        let message = err.to_string();
        match err {
            SubscribeError::ConnectionNotFound(_) => Self::not_found("CONNECTION_NOT_FOUND", message),
            SubscribeError::Full => Self::new(409, "TOO_MANY_SUBSCRIPTIONS", message)
                .with_details(json!({"limit": crate::connections::MAX_TOPICS_PER_CONNECTION})),
            SubscribeError::Unknown(e) => Self::unknown("connection store failed", &e),
        }
    }
}

impl From<CreateKeyError> for ApiError {
    fn from(err: CreateKeyError) -> Self {
        match err {
            CreateKeyError::InvalidName | CreateKeyError::InvalidRole(_) => {
                Self::bad_request("INVALID_KEY_REQUEST", err.to_string())
            }
            CreateKeyError::LimitReached => Self::new(409, "KEY_LIMIT_REACHED", err.to_string()),
            CreateKeyError::Unknown(e) => Self::unknown("key store failed", &e),
        }
    }
}

impl From<RevokeKeyError> for ApiError {
    fn from(err: RevokeKeyError) -> Self {
        match err {
            RevokeKeyError::NotFound(_) => Self::not_found("KEY_NOT_FOUND", err.to_string()),
            RevokeKeyError::Unknown(e) => Self::unknown("key store failed", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_endpoint_is_a_502_and_a_bad_field_a_400_naming_it() {
        let failed = ApiError::from(RegistryError::EndpointFailed("the endpoint answered 503".into()));
        assert_eq!((failed.status, failed.code), (502, "TOOL_ENDPOINT_FAILED"));
        assert_eq!(failed.message, "the endpoint answered 503");
        let invalid = RegistryError::Invalid {
            field: "input_schema".into(),
            message: "is not a valid JSON Schema".into(),
        };
        let invalid = ApiError::from(invalid);
        assert_eq!((invalid.status, invalid.code), (400, "INVALID_REQUEST"));
        assert_eq!(invalid.details, Some(json!({"field": "input_schema"})));
        let full = ApiError::from(RegistryError::LimitReached);
        assert_eq!((full.status, full.code), (409, "REGISTRY_LIMIT_REACHED"));
    }

    #[test]
    fn an_internal_failure_keeps_its_cause_for_the_log_and_shows_none() {
        let err = ApiError::from(ConversationError::Unknown(anyhow::anyhow!("table gone")));
        assert_eq!((err.status, err.code), (500, "INTERNAL_ERROR"));
        assert!(!err.message.contains("table gone"));
        assert_eq!(err.cause.as_deref(), Some("conversation operation failed: table gone"));
        assert!(!err.to_body("r").contains("table gone"));
    }
}
