//! A route served from a Lambda function URL in response-streaming mode (`InvokeMode:
//! RESPONSE_STREAM`), for answers that must reach the caller while they are produced: API Gateway
//! HTTP APIs buffer a function's whole answer.
//!
//! A function URL has no API Gateway authorizer in front of it (`AuthType: NONE`), so the function
//! runs the same [`Authenticator`] in process, before anything else, and puts its verdict where the
//! authorizer's would be: from there on it is an ordinary [`serve`](super::serve) of the one handler
//! shape (principal, typed request, audit, metrics, log event), and the handler's
//! [`Reply::stream`](super::Reply::stream) becomes the rest of the body. The URL answers one route;
//! any other method or path is `404`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::StreamBody;
use lambda_http::aws_lambda_events::apigw::ApiGatewayRequestAuthorizer;
use lambda_http::http::Response;
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request};
use shared::audit::AuditLog;
use shared::auth::authenticate::{Authenticator, Credentials};
use shared::auth::AuthOutcome;
use shared::keys::KeyStore;
use shared::ratelimit::RateLimiter;
use shared::ApiError;

use super::{serve_streaming, ApiRequest, App, Authorized, BodyStream, Reply};
use crate::http;

/// A streamed answer's body: its first part, then the rest as the handler produces it.
pub type StreamedBody = StreamBody<futures::stream::BoxStream<'static, Result<http_body::Frame<Bytes>, Infallible>>>;

/// The caller's credentials decided for `route` by `auth`, put in the request as the HTTP API's
/// authorizer would put them (`route` becomes the request's route key). Whatever the request
/// carried there is replaced: a function URL's caller cannot write it, and it is never trusted.
pub async fn authenticate<S: KeyStore, L: RateLimiter>(
    auth: &Authenticator<S, L>,
    route: &str,
    mut req: Request,
) -> Request {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let credentials = Credentials {
        api_key: header("x-api-key"),
        authorization: header("authorization"),
    };
    let outcome = match auth.decide(credentials, route, chrono::Utc::now()).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(%route, error = %format!("{e:#}"), "could not authenticate: a store is unavailable");
            AuthOutcome::Unavailable
        }
    };
    let fields: HashMap<String, serde_json::Value> = outcome.to_context();
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions_mut().get_mut::<RequestContext>() {
        ctx.route_key = Some(route.to_owned());
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.fields = fields;
        ctx.authorizer = Some(authorizer);
    }
    req
}

/// The route key of the request as a function URL received it (`POST /api/v1/completions/stream`).
fn received_route(req: &Request) -> String {
    format!("{} {}", req.method(), req.uri().path())
}

/// The whole answer as the runtime streams it: the first part (`response`'s body), then `rest`.
fn streamed(response: Response<Body>, rest: Option<BodyStream>) -> Response<StreamedBody> {
    let (parts, body) = response.into_parts();
    let first = Bytes::from(body.to_vec());
    let head = futures::stream::iter((!first.is_empty()).then_some(first));
    let chunks = match rest {
        Some(BodyStream(rest)) => head.chain(rest).boxed(),
        None => head.boxed(),
    };
    let frames = chunks.map(|b| Ok(http_body::Frame::data(b))).boxed();
    Response::from_parts(parts, StreamBody::new(frames))
}

/// Runs `handler` for `route` on the Lambda runtime in response-streaming mode, its caller
/// authenticated by `auth` (see the module doc).
///
/// # Errors
/// When the runtime stops.
pub async fn run_streaming<D, A, R, F, Fut, S, L>(
    app: App<D, A>,
    auth: Authenticator<S, L>,
    route: &'static str,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    D: Sync + 'static,
    A: AuditLog + Sync + 'static,
    R: ApiRequest + Send,
    F: Fn(&'static D, Authorized<R>) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Result<Reply, ApiError>> + Send,
    S: KeyStore + Sync + 'static,
    L: RateLimiter + Sync + 'static,
{
    let app: &'static App<D, A> = Box::leak(Box::new(app));
    let auth: &'static Authenticator<S, L> = Box::leak(Box::new(auth));
    let runtime = lambda_http::streaming_runtime(service_fn(move |req: Request| async move {
        if received_route(&req) != route {
            let err = ApiError::not_found("ROUTE_NOT_FOUND", format!("this URL serves {route} only"));
            return Ok::<_, lambda_http::Error>(streamed(http::error(&err, &http::request_id(&req)), None));
        }
        let req = authenticate(auth, route, req).await;
        let (response, rest) = serve_streaming(app, handler, req).await;
        Ok(streamed(response, rest))
    }));
    crate::runtime::run(runtime).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_part_and_the_rest_are_one_body_in_order() {
        use http_body_util::BodyExt;
        let rest = futures::stream::iter([Bytes::from("b"), Bytes::from("c")]).boxed();
        let response = http::respond_as(200, "a".into(), "text/event-stream");
        let body = streamed(response, Some(BodyStream(rest))).into_body();
        let all = BodyExt::collect(body).await.unwrap().to_bytes();
        assert_eq!(all, Bytes::from("abc"));
    }

    #[test]
    fn the_route_received_is_method_and_path() {
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://x.lambda-url.us-east-1.on.aws/api/v1/completions/stream?x=1")
            .body(Body::Empty)
            .unwrap();
        assert_eq!(received_route(&req), "POST /api/v1/completions/stream");
    }
}
