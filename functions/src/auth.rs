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
            let route = crate::http::route_key(req);
            Err(ApiError::new(
                403,
                "FORBIDDEN",
                format!("role {} may not call {route}", principal.role),
            ))
        }
    }
}

/// The caller the authorizer identified, whether or not it was let through: allowed, forbidden
/// (`403`) or rate limited (`429`); `None` without credentials or a verdict.
#[must_use]
pub fn known_principal(req: &Request) -> Option<Principal> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    match AuthOutcome::from_context(ctx.authorizer.as_ref().map(|a| &a.fields)) {
        AuthOutcome::Allowed(p)
        | AuthOutcome::Forbidden { principal: p }
        | AuthOutcome::RateLimited { principal: Some(p), .. } => Some(p),
        AuthOutcome::RateLimited { principal: None, .. }
        | AuthOutcome::Unauthenticated { .. }
        | AuthOutcome::Unavailable => None,
    }
}
