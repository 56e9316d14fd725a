//! Audit: recording a mutating request after it is answered, and `GET /api/v1/audit` (admin).

use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use shared::audit::{decode_cursor, AuditEntry, AuditLog, Outcome, DEFAULT_PAGE, MAX_PAGE};
use shared::auth::AuthOutcome;
use shared::ApiError;

use crate::{auth, http};

/// Where entries go and how long they stay.
pub struct AuditDeps<A> {
    pub log: A,
    pub ttl_days: u32,
}

/// Records the answered request of an authenticated principal: allowed, forbidden (403) or rate
/// limited (429). A request without a principal (401) has no tenant to record it under, so it is not
/// recorded (the authorizer logs it). A failed write is logged, not answered: the mutation has
/// already happened.
pub async fn record<A: AuditLog>(
    deps: &AuditDeps<A>,
    req: &Request,
    target: Option<String>,
    response: &Response<Body>,
) {
    record_status(deps, req, target, response.status().as_u16()).await;
}

/// As [`record`], for an answer whose audited status is not its HTTP status (an MCP call answered
/// `200` with a JSON-RPC error).
pub async fn record_status<A: AuditLog>(deps: &AuditDeps<A>, req: &Request, target: Option<String>, status: u16) {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return;
    };
    let principal = match AuthOutcome::from_context(ctx.authorizer.as_ref().map(|a| &a.fields)) {
        AuthOutcome::Allowed(p)
        | AuthOutcome::Forbidden { principal: p }
        | AuthOutcome::RateLimited { principal: Some(p), .. } => p,
        AuthOutcome::RateLimited { principal: None, .. } | AuthOutcome::Unauthenticated { .. } => return,
    };
    let now = chrono::Utc::now();
    let entry = AuditEntry {
        tenant: principal.tenant.to_string(),
        subject: principal.subject,
        action: ctx.route_key.clone().unwrap_or_default(),
        target,
        outcome: Outcome::from_status(status),
        status,
        request_id: http::request_id(req),
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        expires_at: now.timestamp() + i64::from(deps.ttl_days) * 86_400,
    };
    if let Err(err) = deps.log.record(&entry).await {
        tracing::error!(error = %err, request_id = %entry.request_id, "audit entry not written");
    }
}

/// `GET /api/v1/audit?limit=&cursor=`: the tenant's entries, newest first.
///
/// # Errors
/// Never: every outcome is an HTTP response.
pub async fn list<A: AuditLog>(deps: &AuditDeps<A>, req: Request) -> Result<Response<Body>, Error> {
    let request_id = http::request_id(&req);
    let principal = match auth::principal(&req) {
        Ok(p) => p,
        Err(e) => return Ok(http::error(&e, &request_id)),
    };
    let query = req.query_string_parameters_ref().cloned().unwrap_or_default();
    let limit = match query.first("limit").map(str::parse::<usize>) {
        None => DEFAULT_PAGE,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            let msg = format!("limit must be a whole number from 1 to {MAX_PAGE}");
            return Ok(http::error(&ApiError::bad_request("INVALID_LIMIT", msg), &request_id));
        }
    };
    let after = match query.first("cursor").map(decode_cursor).transpose() {
        Ok(after) => after,
        Err(msg) => return Ok(http::error(&ApiError::bad_request("INVALID_CURSOR", msg), &request_id)),
    };
    match deps.log.list(&principal.tenant, limit, after.as_deref()).await {
        Ok(page) => Ok(http::json(200, &page)),
        Err(err) => {
            tracing::error!(error = %err, %request_id, "audit list failed");
            Ok(http::error(&ApiError::internal(), &request_id))
        }
    }
}
