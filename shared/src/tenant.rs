//! Tenant names: the one pattern every tenant must match, wherever it comes from (a JWT claim, an API
//! key record, the authorizer context, the `mcpflow-admin` bootstrap).
//!
//! The pattern is [`TENANT_PATTERN`]: 1 to 63 characters, lowercase ASCII letters, digits, `_` and
//! `-`, starting with a letter or a digit. It is narrow on purpose: a tenant is part of every
//! DynamoDB key of its data (see [`crate::dynamodb::table_keys`]), of log lines and of audit entries,
//! so it carries no separator (`#`), no escape (`%`), no case folding and nothing invisible.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// The tenant pattern, as a regular expression (for documentation and error messages).
pub const TENANT_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,62}$";

/// Longest tenant name.
pub const MAX_TENANT_CHARS: usize = 63;

/// A name that does not match [`TENANT_PATTERN`]; the message never repeats the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a tenant must match {TENANT_PATTERN} (1 to 63 lowercase letters, digits, _ or -, starting with a letter or digit)"
)]
pub struct InvalidTenant;

/// A tenant name that matches [`TENANT_PATTERN`]; there is no other way to make one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// Whether `name` matches [`TENANT_PATTERN`].
#[must_use]
pub fn is_valid(name: &str) -> bool {
    let bytes = name.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-';
    match bytes.first() {
        Some(first) if first.is_ascii_lowercase() || first.is_ascii_digit() => {
            bytes.len() <= MAX_TENANT_CHARS && bytes.iter().all(allowed)
        }
        _ => false,
    }
}

impl TenantId {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for TenantId {
    type Error = InvalidTenant;

    fn try_from(name: &str) -> Result<Self, Self::Error> {
        if is_valid(name) {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidTenant)
        }
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenant;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        if is_valid(&name) {
            Ok(Self(name))
        } else {
            Err(InvalidTenant)
        }
    }
}

impl std::str::FromStr for TenantId {
    type Err = InvalidTenant;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::try_from(name)
    }
}

impl From<TenantId> for String {
    fn from(tenant: TenantId) -> Self {
        tenant.0
    }
}

impl Deref for TenantId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for TenantId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TenantId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_lowercase_letters_digits_underscores_and_dashes_are_tenants() {
        for name in ["local", "acme", "t1", "0", "own-1a2b3c4d", "a_b-c", &"a".repeat(63)] {
            assert_eq!(TenantId::try_from(name).map(String::from).as_deref(), Ok(name));
        }
    }

    #[test]
    fn separators_escapes_case_blanks_and_long_names_are_not_tenants() {
        let long = "a".repeat(64);
        for name in [
            "", "a#b", "a%23", "Acme", "a b", " a", "-a", "_a", "a/b", "é", "a\n", &long,
        ] {
            assert_eq!(TenantId::try_from(name), Err(InvalidTenant), "{name:?}");
        }
    }

    #[test]
    fn the_refusal_names_the_pattern_and_not_the_name() {
        let message = TenantId::try_from("evil#name").unwrap_err().to_string();
        assert!(
            message.contains(TENANT_PATTERN) && !message.contains("evil"),
            "{message}"
        );
    }

    #[test]
    fn a_tenant_deserialises_only_when_it_matches_the_pattern() {
        assert!(serde_json::from_str::<TenantId>(r#""acme""#).is_ok());
        assert!(serde_json::from_str::<TenantId>(r#""a#b""#).is_err());
    }
}
