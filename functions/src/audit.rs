//! Audit: recording a mutating request after it is answered, and `GET /api/v1/audit` (admin).

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::audit::{decode_cursor, AuditEntry, AuditLog, Outcome, DEFAULT_PAGE, MAX_PAGE};
use shared::ApiError;

use crate::api::requests::{page_limit, query};
use crate::api::{ApiRequest, Authorized, Reply};
use crate::http;

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
    let Some(principal) = crate::auth::known_principal(req) else {
        return;
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

/// `GET /api/v1/audit?limit=&cursor=`: a page size and where the page starts.
pub struct AuditPageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

impl ApiRequest for AuditPageRequest {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let limit = page_limit(req, DEFAULT_PAGE, MAX_PAGE)?;
        let after = query(req, "cursor")
            .as_deref()
            .map(decode_cursor)
            .transpose()
            .map_err(|msg| ApiError::bad_request("INVALID_CURSOR", msg))?;
        Ok(Self { limit, after })
    }
}

/// `GET /api/v1/audit?limit=&cursor=` (bin `audit-list`): the tenant's entries, newest first.
///
/// # Errors
/// A bad `limit` or `cursor` (`400`), a store failure.
pub async fn list<A: AuditLog>(log: &A, req: Authorized<AuditPageRequest>) -> Result<Reply, ApiError> {
    let AuditPageRequest { limit, after } = &req.request;
    let page = log
        .list(&req.principal.tenant, *limit, after.as_deref())
        .await
        .map_err(|e| ApiError::unknown("audit list failed", &e))?;
    Ok(Reply::ok(&page))
}

#[cfg(test)]
mod tests;
