//! Who is calling: roles, the principal, and how the authorizer's verdict travels to the functions.
//!
//! The authorizer authenticates (API key or JWT) and checks the route against [`permissions`]; it then
//! passes its verdict in the authorizer context. Functions read it back with [`AuthOutcome::from_context`]
//! and answer `401`/`403` in the error envelope themselves, because API Gateway's own deny answers cannot
//! carry the envelope.

pub mod apikey;
pub mod authenticate;
pub mod jwt;
pub mod permissions;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::tenant::TenantId;

/// What a principal may do; see [`permissions::PERMISSIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
    Agent,
    Viewer,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::Admin, Self::Operator, Self::Agent, Self::Viewer];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Agent => "agent",
            Self::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: expected one of admin, operator, agent, viewer"))
    }
}

/// How the principal proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ApiKey,
    Jwt,
}

/// An authenticated caller. Every store method that touches tenant data takes its tenant, which
/// matches [`crate::tenant::TENANT_PATTERN`]: a principal cannot be made with any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub tenant: TenantId,
    pub subject: String,
    pub role: Role,
    pub method: AuthMethod,
}

/// The authorizer's verdict for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Allowed(Principal),
    /// No valid credentials: `401`.
    Unauthenticated {
        code: &'static str,
        message: String,
    },
    /// Valid credentials, but the role may not use this route: `403`.
    Forbidden {
        principal: Principal,
    },
    /// Over the role's rate limit: `429` with `Retry-After`. The principal is known (so the denial
    /// can be audited); `None` only for a verdict from an authorizer older than this field.
    RateLimited {
        principal: Option<Principal>,
        retry_after_secs: u64,
    },
    /// A store the decision needs (API keys, rate-limit buckets) could not be reached: `503`
    /// `DEPENDENCY_UNAVAILABLE` with `Retry-After`, in the envelope rather than API Gateway's `500`.
    Unavailable,
}

impl AuthOutcome {
    /// The authorizer context (string values, as API Gateway passes them on).
    #[must_use]
    pub fn to_context(&self) -> HashMap<String, Value> {
        let s = |v: &str| Value::String(v.to_owned());
        let principal = |p: &Principal, verdict: &str| {
            HashMap::from([
                ("verdict".to_owned(), s(verdict)),
                ("tenant".to_owned(), s(&p.tenant)),
                ("subject".to_owned(), s(&p.subject)),
                ("role".to_owned(), s(p.role.as_str())),
                (
                    "method".to_owned(),
                    s(if p.method == AuthMethod::ApiKey {
                        "api_key"
                    } else {
                        "jwt"
                    }),
                ),
            ])
        };
        match self {
            Self::Allowed(p) => principal(p, "allowed"),
            Self::Forbidden { principal: p } => principal(p, "forbidden"),
            Self::RateLimited {
                principal: p,
                retry_after_secs,
            } => {
                let mut context = p.as_ref().map_or_else(HashMap::new, |p| principal(p, "rate_limited"));
                context.insert("verdict".to_owned(), s("rate_limited"));
                context.insert("retry_after".to_owned(), s(&retry_after_secs.to_string()));
                context
            }
            Self::Unavailable => HashMap::from([("verdict".to_owned(), s("unavailable"))]),
            Self::Unauthenticated { code, message } => HashMap::from([
                ("verdict".to_owned(), s("unauthenticated")),
                ("code".to_owned(), s(code)),
                ("message".to_owned(), s(message)),
            ]),
        }
    }

    /// Reads the verdict back; anything missing or malformed is `Unauthenticated`, never a pass.
    #[must_use]
    pub fn from_context(context: Option<&HashMap<String, Value>>) -> Self {
        let missing = || Self::Unauthenticated {
            code: "UNAUTHENTICATED",
            message: "this route requires an X-API-Key or an Authorization: Bearer token".to_owned(),
        };
        let Some(ctx) = context else { return missing() };
        let get = |k: &str| ctx.get(k).and_then(Value::as_str);
        let principal = || {
            Some(Principal {
                tenant: get("tenant")?.try_into().ok()?,
                subject: get("subject")?.to_owned(),
                role: get("role")?.parse().ok()?,
                method: if get("method")? == "api_key" {
                    AuthMethod::ApiKey
                } else {
                    AuthMethod::Jwt
                },
            })
        };
        match get("verdict") {
            Some("allowed") => principal().map_or_else(missing, Self::Allowed),
            Some("forbidden") => principal().map_or_else(missing, |principal| Self::Forbidden { principal }),
            Some("rate_limited") => Self::RateLimited {
                principal: principal(),
                retry_after_secs: get("retry_after").and_then(|r| r.parse().ok()).unwrap_or(1),
            },
            Some("unavailable") => Self::Unavailable,
            Some("unauthenticated") => Self::Unauthenticated {
                code: match get("code") {
                    Some("INVALID_API_KEY") => "INVALID_API_KEY",
                    Some("INVALID_TOKEN") => "INVALID_TOKEN",
                    Some("CREDENTIALS_TOO_LARGE") => "CREDENTIALS_TOO_LARGE",
                    _ => "UNAUTHENTICATED",
                },
                message: get("message").unwrap_or("the credentials are not valid").to_owned(),
            },
            _ => missing(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            tenant: "t1".try_into().unwrap(),
            subject: "key_1".into(),
            role,
            method: AuthMethod::ApiKey,
        }
    }

    #[test]
    fn every_verdict_survives_the_trip_through_the_authorizer_context() {
        let outcomes = [
            AuthOutcome::Allowed(principal(Role::Viewer)),
            AuthOutcome::Forbidden {
                principal: principal(Role::Agent),
            },
            AuthOutcome::Unauthenticated {
                code: "INVALID_TOKEN",
                message: "expired".into(),
            },
            AuthOutcome::RateLimited {
                principal: Some(principal(Role::Operator)),
                retry_after_secs: 7,
            },
            AuthOutcome::Unavailable,
            AuthOutcome::RateLimited {
                principal: None,
                retry_after_secs: 3,
            },
        ];
        for outcome in outcomes {
            assert_eq!(AuthOutcome::from_context(Some(&outcome.to_context())), outcome);
        }
    }

    #[test]
    fn a_missing_or_forged_context_is_never_allowed() {
        assert!(matches!(
            AuthOutcome::from_context(None),
            AuthOutcome::Unauthenticated { .. }
        ));
        let forged = HashMap::from([("verdict".to_owned(), Value::from("allowed"))]);
        assert!(matches!(
            AuthOutcome::from_context(Some(&forged)),
            AuthOutcome::Unauthenticated { .. }
        ));
    }

    #[test]
    fn a_context_whose_tenant_breaks_the_pattern_is_never_allowed() {
        let mut context = AuthOutcome::Allowed(principal(Role::Admin)).to_context();
        context.insert("tenant".to_owned(), Value::from("t1#other"));
        assert!(matches!(
            AuthOutcome::from_context(Some(&context)),
            AuthOutcome::Unauthenticated { .. }
        ));
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        assert_eq!("operator".parse::<Role>(), Ok(Role::Operator));
        assert!("root".parse::<Role>().unwrap_err().contains("unknown role"));
    }
}
