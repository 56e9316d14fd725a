//! The principal of a request, from the authorizer's verdict in the request context.
//! Every handler that touches tenant data starts here: no principal, no store call.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use shared::auth::{AuthOutcome, Principal};
use shared::ApiError;

/// The caller, or the `401`/`403` to answer with.
///
/// # Errors
/// [`ApiError`] 401 when the request carries no valid credentials, 403 when the role may not use the route.
pub fn principal(req: &Request) -> Result<Principal, ApiError> {
    let context = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().map(|a| &a.fields),
        _ => None,
    };
    match AuthOutcome::from_context(context) {
        AuthOutcome::Allowed(principal) => Ok(principal),
        AuthOutcome::Unavailable => Err(ApiError::unavailable()),
        AuthOutcome::Unauthenticated { code, message } => Err(ApiError::new(401, code, message)),
        AuthOutcome::RateLimited { retry_after_secs, .. } => Err(ApiError::new(
            429,
            "RATE_LIMITED",
            format!("too many requests for this principal; retry after {retry_after_secs} s"),
        )
        .with_retry_after(retry_after_secs)),
        AuthOutcome::Forbidden { principal } => {
            let route = match req.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone().unwrap_or_default(),
                _ => String::new(),
            };
            Err(ApiError::new(
                403,
                "FORBIDDEN",
                format!("role {} may not call {route}", principal.role),
            ))
        }
    }
}
