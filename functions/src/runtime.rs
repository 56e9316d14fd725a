//! How every function runs on the Lambda runtime: the runtime's tracing span around each invocation
//! and, inside it, the metrics and log writes the invocation made due, made once its response is
//! posted.
//!
//! Lambda hands the caller the response as soon as the runtime posts it, and does not freeze the
//! instance until the runtime asks for the next event. A write made in between keeps no caller
//! waiting (a cold start's first metrics sample was about 6–10 ms of it on the local stack) and is
//! not lost; it is billed, as any work of the instance is, and the next event waits for it.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream};
use lambda_http::{IntoResponse, Request};
use lambda_runtime::tower::Layer;
use lambda_runtime::{
    layers::TracingLayer, Diagnostic, IntoFunctionResponse, LambdaEvent, LambdaInvocation, Runtime, Service,
};
use serde::{Deserialize, Serialize};
use shared::metrics::Recorder;

type BoxError = lambda_runtime::Error;

/// Runs `runtime` for the life of the execution environment, with the tracing span and, when the
/// function made a recorder ([`crate::wiring::recorder`]), its writes after each response.
///
/// # Errors
/// When the runtime stops.
pub async fn run<S>(runtime: Runtime<S>) -> Result<(), BoxError>
where
    S: Service<LambdaInvocation, Response = (), Error = BoxError>,
{
    let recorder = crate::wiring::this_recorder();
    if let Some(recorder) = &recorder {
        recorder.defer_to_after_response();
    }
    runtime
        .layer(AfterResponse { recorder })
        .layer(TracingLayer::new())
        .run()
        .await
}

/// [`run`] for a handler of Lambda events (SQS, schedules, the authorizer).
///
/// # Errors
/// When the runtime stops.
pub async fn run_events<F, A, R, B, St, D, E>(handler: F) -> Result<(), BoxError>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, St>,
    B: Serialize,
    St: Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<BoxError> + Send + Debug,
{
    run(Runtime::new(handler)).await
}

/// [`run`] for a handler of HTTP requests (API Gateway's HTTP and WebSocket APIs), answered whole.
///
/// # Errors
/// When the runtime stops.
pub async fn run_http<S, R, E>(handler: S) -> Result<(), BoxError>
where
    S: Service<Request, Response = R, Error = E> + Send + 'static,
    S::Future: Send + 'static,
    R: IntoResponse + Send + Sync + 'static,
    E: Debug + Into<Diagnostic> + Send + 'static,
{
    run(lambda_http::runtime(handler)).await
}

/// The layer that makes the recorder's due writes once the inner service (which posts the
/// response) is done.
#[derive(Clone)]
pub struct AfterResponse {
    pub recorder: Option<Recorder>,
}

impl<S> Layer<S> for AfterResponse {
    type Service = AfterResponseService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AfterResponseService {
            inner,
            recorder: self.recorder.clone(),
        }
    }
}

/// See [`AfterResponse`].
pub struct AfterResponseService<S> {
    inner: S,
    recorder: Option<Recorder>,
}

impl<S> Service<LambdaInvocation> for AfterResponseService<S>
where
    S: Service<LambdaInvocation, Response = (), Error = BoxError>,
{
    type Response = ();
    type Error = BoxError;
    type Future = Answered<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        Answered {
            answering: Box::pin(self.inner.call(invocation)),
            recorder: self.recorder.clone(),
            writing: None,
            result: None,
        }
    }
}

/// An invocation being answered, then its writes being made.
pub struct Answered<F> {
    answering: Pin<Box<F>>,
    recorder: Option<Recorder>,
    writing: Option<BoxFuture<'static, ()>>,
    result: Option<Result<(), BoxError>>,
}

impl<F> Future for Answered<F>
where
    F: Future<Output = Result<(), BoxError>>,
{
    type Output = Result<(), BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.result.is_none() {
            this.result = Some(ready!(this.answering.as_mut().poll(cx)));
            this.writing = this.recorder.take().map(|recorder| recorder.after_response().boxed());
        }
        if let Some(writing) = this.writing.as_mut() {
            ready!(writing.as_mut().poll(cx));
            this.writing = None;
        }
        Poll::Ready(this.result.take().unwrap_or(Ok(())))
    }
}

#[cfg(test)]
mod tests;
