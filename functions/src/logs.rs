//! `GET /api/v1/logs`: the tenant's recent events (requests, denials, task transitions, provider
//! errors), newest first, filtered by level, kind and time, cursor-paged.

use chrono::DateTime;
use lambda_http::Request;
use shared::logs::{is_event_id, EventKind, Filter, Level, LogStore, DEFAULT_PAGE, MAX_PAGE};
use shared::ApiError;

use crate::api::requests::{cursor, page_limit, query};
use crate::api::{ApiRequest, Authorized, Reply};

/// `?level=&kind=&since=&until=&limit=&cursor=`, checked.
pub struct LogsQuery {
    pub filter: Filter,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::bad_request("INVALID_REQUEST", format!("{field}: {message}"))
        .with_details(serde_json::json!({ "field": field }))
}

/// A time: RFC 3339, or milliseconds since the epoch.
fn time(req: &Request, field: &str) -> Result<Option<i64>, ApiError> {
    let Some(value) = query(req, field) else {
        return Ok(None);
    };
    value
        .parse::<i64>()
        .ok()
        .filter(|ms| (0..=999_999_999_999_999).contains(ms))
        .or_else(|| DateTime::parse_from_rfc3339(&value).ok().map(|t| t.timestamp_millis()))
        .filter(|ms| *ms >= 0)
        .map(Some)
        .ok_or_else(|| invalid(field, "must be an RFC 3339 time or milliseconds since 1970"))
}

impl ApiRequest for LogsQuery {
    fn parse(req: &Request) -> Result<Self, ApiError> {
        let level = match query(req, "level") {
            None => None,
            Some(l) => Some(Level::parse(&l).ok_or_else(|| invalid("level", "must be info, warn or error"))?),
        };
        let kind = match query(req, "kind") {
            None => None,
            Some(k) => {
                Some(EventKind::parse(&k).ok_or_else(|| invalid("kind", "must be request, denial, task or provider"))?)
            }
        };
        let after = cursor(req, is_event_id)?;
        let (since_ms, until_ms) = (time(req, "since")?, time(req, "until")?);
        if let (Some(since), Some(until)) = (since_ms, until_ms) {
            if since > until {
                return Err(invalid("since", "must not be after until"));
            }
        }
        Ok(Self {
            filter: Filter {
                level,
                kind,
                since_ms,
                until_ms,
                limit: page_limit(req, DEFAULT_PAGE, MAX_PAGE)?,
                after,
            },
        })
    }
}

/// `GET /api/v1/logs`: a page of the tenant's events and the cursor of the next.
///
/// # Errors
/// A bad filter, `limit` or `cursor` (`400`), a store failure.
pub async fn list<S: LogStore>(store: &S, req: Authorized<LogsQuery>) -> Result<Reply, ApiError> {
    let page = store
        .page(&req.principal.tenant, &req.request.filter)
        .await
        .map_err(|e| ApiError::unknown("log store failed", &e))?;
    Ok(Reply::ok(&page))
}

#[cfg(test)]
mod tests;
