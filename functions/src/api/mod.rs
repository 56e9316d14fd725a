//! The one shape of an HTTP handler, and the adapter that serves it.
//!
//! Every REST handler is `async fn(&Deps, Authorized<Req>) -> Result<Reply, ApiError>`: it is given
//! its dependencies, the caller and a typed request, and answers a status with a JSON body. [`serve`]
//! does everything else, the same way for every route:
//!
//! 1. the request id (API Gateway's, else the Lambda invocation's);
//! 2. the principal from the authorizer's verdict: `401` without credentials, `403` for a role the
//!    route refuses, `429` when the caller's rate limit is spent (the authorizer counts it);
//! 3. the typed request ([`ApiRequest::parse`]: path ids checked before any I/O, query, body;
//!    parsed even for a refused caller, so the audit entry of a denial names its target);
//! 4. the handler, whose errors become the envelope through `From<…> for ApiError`
//!    (`shared::error`, one module);
//! 5. for audited routes, the audit entry (principal, route, target, outcome);
//! 6. the invocation's latency and outcome in the caller's tenant's metrics (`shared::metrics`), for
//!    every caller with a principal, and its log event (`shared::logs`: route, status, latency, error
//!    code; a denial for a `403` or `429`), for every caller the authorizer identified.
//!
//! A bin names its dependencies and its handler and calls [`run`].

use std::future::Future;

use lambda_http::{service_fn, Body, Request, Response};
use serde::Serialize;
use shared::audit::dynamodb::DynamoDbAuditLog;
use shared::audit::AuditLog;
use shared::auth::Principal;
use shared::logs;
use shared::metrics::{self, Outcome, Recorder};
use shared::ApiError;

use crate::audit::{self, AuditDeps};
use crate::{auth, http};

pub mod requests;
pub mod streaming;

/// A request as a handler sees it: who asks, what they ask, and the id to quote.
pub struct Authorized<R> {
    pub principal: Principal,
    pub request: R,
    pub request_id: String,
}

/// What a route takes from the HTTP request, parsed and checked before the handler runs.
pub trait ApiRequest: Sized {
    /// # Errors
    /// The `4xx` to answer: a malformed path id (`404`), query (`400`) or body (`400`, `413`).
    fn parse(req: &Request) -> Result<Self, ApiError>;

    /// The item an audited request acts on (a path id, a registered name), recorded even when it fails.
    fn target(&self) -> Option<String> {
        None
    }

    /// The target of a request that did not parse: what of it can still be read (a well-formed path
    /// id beside a bad body).
    fn target_unparsed(_: &Request) -> Option<String> {
        None
    }
}

/// A handler's answer: a status, a JSON body, and (for a create) the id of what it made, for the audit.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The body as JSON text, its fields in their declared order; `Err` when it could not be
    /// serialised (answered `500`).
    pub body: Result<String, String>,
    pub target: Option<String>,
    /// The body's media type: JSON unless [`Reply::text`] says otherwise.
    pub content_type: &'static str,
    /// Headers besides `Content-Type` (an `ETag`).
    pub headers: Vec<(&'static str, String)>,
    /// What follows `body` on a streamed answer (Server-Sent Events), served by [`run_streaming`].
    pub stream: Option<BodyStream>,
}

/// The rest of a streamed answer, chunk by chunk, as its producer writes them.
pub struct BodyStream(pub futures::stream::BoxStream<'static, bytes::Bytes>);

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream")
    }
}

impl Reply {
    /// `status` with `body` as JSON.
    #[must_use]
    pub fn new(status: u16, body: &impl Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_string(body).map_err(|e| e.to_string()),
            target: None,
            content_type: "application/json",
            headers: Vec::new(),
            stream: None,
        }
    }

    /// `200` with `body` as text of `content_type`.
    #[must_use]
    pub fn text(body: String, content_type: &'static str) -> Self {
        Self {
            status: 200,
            body: Ok(body),
            target: None,
            content_type,
            headers: Vec::new(),
            stream: None,
        }
    }

    /// `200` with `body`.
    #[must_use]
    pub fn ok(body: &impl Serialize) -> Self {
        Self::new(200, body)
    }

    /// The same answer with the header `name: value`.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Names what the request made, for its audit entry.
    #[must_use]
    pub fn about(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// A function's dependencies, with the audit log its route records to when it is audited.
pub struct App<D, A = DynamoDbAuditLog> {
    pub deps: D,
    pub audit: AuditDeps<A>,
    /// Whether answered requests are recorded (every mutating route).
    pub audited: bool,
    /// Where each invocation's latency and outcome are counted (`None`: nowhere).
    pub metrics: Option<Recorder>,
}

impl<D, A> App<D, A> {
    /// A route that is not audited (reads).
    pub fn new(deps: D, audit: AuditDeps<A>) -> Self {
        Self {
            deps,
            audit,
            audited: false,
            metrics: None,
        }
    }

    /// The same route, its invocations counted by `recorder`.
    #[must_use]
    pub fn measured(mut self, recorder: Recorder) -> Self {
        self.metrics = Some(recorder);
        self
    }

    /// The same route, audited.
    #[must_use]
    pub fn audited(mut self) -> Self {
        self.audited = true;
        self
    }
}

/// Serves one request with `handler` (steps 1–5 of the module doc); every outcome is a response.
pub async fn serve<'a, D, A, R, F, Fut>(app: &'a App<D, A>, handler: F, req: Request) -> Response<Body>
where
    A: AuditLog,
    R: ApiRequest,
    F: FnOnce(&'a D, Authorized<R>) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    serve_streaming(app, handler, req).await.0
}

/// [`serve`], with the rest of a streamed answer (what the handler's [`Reply::stream`] holds): the
/// audit entry, metrics and log event are those of the answer's start.
pub async fn serve_streaming<'a, D, A, R, F, Fut>(
    app: &'a App<D, A>,
    handler: F,
    req: Request,
) -> (Response<Body>, Option<BodyStream>)
where
    A: AuditLog,
    R: ApiRequest,
    F: FnOnce(&'a D, Authorized<R>) -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let started = std::time::Instant::now();
    let counted = shared::aws::calls::enabled();
    if counted {
        shared::aws::calls::reset();
    }
    let request_id = http::request_id(&req);
    // Parsing does no I/O; a refused caller's well-formed target is still what the audit names.
    let parsed = R::parse(&req);
    let mut target = match &parsed {
        Ok(request) => request.target(),
        Err(_) => R::target_unparsed(&req),
    };
    let principal = auth::principal(&req);
    let tenant = principal.as_ref().ok().map(|p| p.tenant.clone());
    // Denials too are logged under the caller's tenant.
    let known = auth::known_principal(&req);
    let outcome = match principal.and_then(|p| Ok((p, parsed?))) {
        Ok((principal, request)) => {
            let authorized = Authorized {
                principal,
                request,
                request_id: request_id.clone(),
            };
            let reply = handler(&app.deps, authorized).await;
            if let Ok(Reply { target: Some(made), .. }) = &reply {
                target = Some(made.clone());
            }
            reply
        }
        Err(e) => Err(e),
    };
    let mut error_code = None;
    let mut stream = None;
    let mut response = match outcome.and_then(|mut reply| {
        stream = reply.stream.take();
        let body = reply
            .body
            .map_err(|e| ApiError::internal_because(format!("response could not be serialised: {e}")))?;
        Ok((reply.status, body, reply.content_type, reply.headers))
    }) {
        Ok((status, body, content_type, headers)) => {
            let mut response = http::respond_as(status, body, content_type);
            for (name, value) in headers {
                if let Ok(value) = lambda_http::http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Err(e) => {
            error_code = Some(e.code);
            http::error(&e, &request_id)
        }
    };
    if counted {
        // The handler's round trips; the audit entry and the metrics sample follow the answer.
        if let Ok(v) = lambda_http::http::HeaderValue::from_str(&shared::aws::calls::summary()) {
            response.headers_mut().insert(shared::aws::calls::HEADER, v);
        }
    }
    let status = response.status().as_u16();
    let measured = metrics::record_invocation(
        app.metrics.as_ref(),
        tenant.as_deref(),
        started,
        Outcome::of_status(status),
    );
    let logged = async {
        if let (Some(recorder), Some(caller)) = (&app.metrics, &known) {
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let route = http::route_key(&req);
            let event = logs::request_event(
                &caller.tenant,
                &request_id,
                &route,
                status,
                latency_ms,
                &caller.subject,
                error_code,
            );
            recorder.event(event).await;
        }
    };
    let measured = async { tokio::join!(measured, logged) };
    if app.audited {
        tokio::join!(audit::record(&app.audit, &req, target, &response), measured);
    } else {
        measured.await;
    }
    (response, stream)
}

/// Runs `handler` on the Lambda runtime for the life of the execution environment.
///
/// # Errors
/// When the runtime stops.
pub async fn run<D, A, R, F, Fut>(app: App<D, A>, handler: F) -> Result<(), lambda_http::Error>
where
    D: Sync + 'static,
    A: AuditLog + Sync + 'static,
    R: ApiRequest + Send,
    F: Fn(&'static D, Authorized<R>) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Result<Reply, ApiError>> + Send,
{
    // Built once per cold start and used until the environment is frozen for good.
    let app: &'static App<D, A> = Box::leak(Box::new(app));
    crate::runtime::run_http(service_fn(move |req| async move {
        Ok::<_, lambda_http::Error>(serve(app, handler, req).await)
    }))
    .await
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod test_support {
    use crate::audit::AuditDeps;
    use shared::audit::{AuditEntry, AuditLog, InMemoryAuditLog};
    use shared::conversation::memory::InMemory;

    /// An empty in-memory audit log kept for a day.
    pub fn audit() -> AuditDeps<InMemoryAuditLog> {
        AuditDeps {
            log: InMemoryAuditLog::default(),
            ttl_days: 1,
        }
    }

    /// The contexts and tasks routes' app: in-memory stores and queue, the `local` provider, audited.
    pub fn conversation(
    ) -> super::App<shared::conversation::service::Deps<InMemory, InMemory, InMemory>, InMemoryAuditLog> {
        super::App::new(shared::conversation::service::Deps::in_memory().unwrap(), audit()).audited()
    }

    /// The entries of the fixtures' tenant (`local`), newest first.
    pub async fn entries<D>(app: &super::App<D, InMemoryAuditLog>) -> Vec<AuditEntry> {
        app.audit.log.list("local", 100, None).await.unwrap().entries
    }
}
