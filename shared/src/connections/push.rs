//! [`Pusher`] through API Gateway's management API (`POST` and `DELETE /@connections/{id}`), at the
//! endpoint `WEBSOCKET_ENDPOINT` names (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`; the
//! local gateway's locally).

use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;

use super::store::{PushError, Pusher};

/// Pushes through one WebSocket API's management endpoint.
#[derive(Debug, Clone)]
pub struct ApiGatewayPusher {
    client: Client,
}

impl ApiGatewayPusher {
    /// A client of the management API at `endpoint`.
    #[must_use]
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: Client::from_conf(conf),
        }
    }
}

impl Pusher for ApiGatewayPusher {
    #[tracing::instrument(skip(self, message), fields(bytes = message.len()))]
    async fn push(&self, connection_id: &str, message: &str) -> Result<(), PushError> {
        let post = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(message.as_bytes()));
        match post.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_gone_exception()) => {
                Err(PushError::Gone(connection_id.to_owned()))
            }
            Err(e) => Err(PushError::Unknown(crate::dynamodb::sdk_error(e))),
        }
    }

    #[tracing::instrument(skip(self))]
    async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_gone_exception()) => {
                Err(PushError::Gone(connection_id.to_owned()))
            }
            Err(e) => Err(PushError::Unknown(crate::dynamodb::sdk_error(e))),
        }
    }
}
