//! Paging a listing of contexts or tasks: newest first, `limit` 1–100 (default 20) and an opaque cursor that can
//! only page within the caller's tenant (the tenant comes from the principal, never the cursor).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;

use crate::contexts::requests::Invalid;
use crate::conversation::errors::ConversationError;

/// A page of results and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `limit` and `cursor` from query parameters.
///
/// # Errors
/// [`ConversationError::Invalid`] naming `limit` or `cursor`.
pub fn paging(limit: Option<&str>, cursor: Option<&str>) -> Result<(usize, Option<String>), ConversationError> {
    let limit = match limit.map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return Err(invalid("limit", "must be a whole number from 1 to 100")),
    };
    let after = match cursor {
        None => None,
        Some(c) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(c)
                .map_err(|_| invalid("cursor", "is not a cursor this API issued"))?;
            Some(String::from_utf8(bytes).map_err(|_| invalid("cursor", "is not a cursor this API issued"))?)
        }
    };
    Ok((limit, after))
}

pub(crate) fn invalid(field: &str, message: &str) -> ConversationError {
    ConversationError::Invalid(Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    })
}

/// The opaque form of a sort key.
#[must_use]
pub fn cursor(sort_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(sort_key)
}

#[cfg(test)]
mod tests;
