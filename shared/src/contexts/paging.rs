//! A context's nodes in pages that a Lambda response can carry: API Gateway takes at most 6 MB from
//! a function, and the body is escaped once more inside that answer, so a page holds at most
//! [`MAX_PAGE_BYTES`] of serialized nodes (always at least one), and `limit` nodes.

use serde::Serialize;

use crate::contexts::model::Context;
use crate::contexts::requests::Invalid;
/// Serialized node bytes one page holds at most (escaped again, at most twice that).
pub const MAX_PAGE_BYTES: usize = 2_500_000;

/// Nodes one page holds at most, and by default.
pub const MAX_PAGE_NODES: usize = 1000;

/// A context with one page of its nodes, and where the next page starts.
#[derive(Debug, Clone, Serialize)]
pub struct ContextPage {
    #[serde(flatten)]
    pub context: Context,
    /// Present when more nodes follow: pass it as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// `limit` (1–1000, default 1000) and `cursor` (the sequence number after which the page starts).
///
/// # Errors
/// [`Invalid`] naming `limit` or `cursor`.
pub fn node_paging(limit: Option<&str>, cursor: Option<&str>) -> Result<(usize, u64), Invalid> {
    let limit = match limit {
        None => MAX_PAGE_NODES,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_NODES).contains(n))
            .ok_or_else(|| Invalid {
                field: "limit".into(),
                message: format!("must be a whole number from 1 to {MAX_PAGE_NODES}"),
            })?,
    };
    let after = match cursor {
        None => 0,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|_| raw.len() <= 20)
            .ok_or_else(|| Invalid {
                field: "cursor".into(),
                message: "is not a cursor this API gave".into(),
            })?,
    };
    Ok((limit, after))
}

/// The nodes after sequence number `after`, at most `limit` of them and [`MAX_PAGE_BYTES`].
#[must_use]
pub fn page(mut context: Context, after: u64, limit: usize) -> ContextPage {
    let nodes = std::mem::take(&mut context.nodes);
    let mut rest = nodes.into_iter().filter(|n| n.seq > after).peekable();
    let mut bytes = 0;
    while let Some(node) = rest.peek() {
        let size = serde_json::to_string(node).map_or(0, |s| s.len());
        let full = context.nodes.len() >= limit || (!context.nodes.is_empty() && bytes + size > MAX_PAGE_BYTES);
        if full {
            break;
        }
        bytes += size;
        context.nodes.extend(rest.next());
    }
    let next_cursor = match (rest.peek(), context.nodes.last()) {
        (Some(_), Some(last)) => Some(last.seq.to_string()),
        _ => None,
    };
    ContextPage { context, next_cursor }
}

#[cfg(test)]
mod tests;
