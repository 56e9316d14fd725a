//! Whether a body holds a credential's value instead of a reference to it: a string under a key
//! that names a credential, `model.credential` as a string, or a key or word shaped like a
//! well-known provider's key.

use serde_json::Value;

/// Object keys that name a credential's value (compared lower-case, without `_` and `-`).
const CREDENTIAL_KEYS: [&str; 16] = [
    "apikey",
    "key",
    "secret",
    "secretkey",
    "secretaccesskey",
    "accesskey",
    "accesskeyid",
    "sessiontoken",
    "token",
    "accesstoken",
    "authtoken",
    "bearertoken",
    "password",
    "authorization",
    "privatekey",
    "clientsecret",
];

/// Whether `s` has the shape of a well-known provider's key (OpenAI and Anthropic `sk-…`, AWS access
/// key ids, GitHub and Slack tokens).
fn looks_like_a_key(s: &str) -> bool {
    let token = |rest: &str, min: usize| {
        rest.len() >= min
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let aws = |rest: &str| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    s.strip_prefix("sk-").is_some_and(|r| token(r, 16))
        || s.strip_prefix("AKIA").is_some_and(aws)
        || s.strip_prefix("ASIA").is_some_and(aws)
        || ["ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-"]
            .iter()
            .any(|p| s.strip_prefix(p).is_some_and(|r| token(r, 16)))
}

/// The first place in `value` that holds a credential: a string under a credential's key, or a string
/// shaped like a provider's key; `model.credential` given as a string.
pub(super) fn raw_credential(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Object(obj) => obj.iter().find_map(|(k, v)| {
            let field = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            let normalized: String = k
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .flat_map(char::to_lowercase)
                .collect();
            // A key shaped like a credential is named by where it is, never repeated.
            if looks_like_a_key(k) {
                return Some(if path.is_empty() {
                    "body".to_owned()
                } else {
                    path.to_owned()
                });
            }
            let credential_slot = field == "model.credential" && v.is_string();
            if credential_slot || (CREDENTIAL_KEYS.contains(&normalized.as_str()) && v.is_string()) {
                return Some(field);
            }
            raw_credential(v, &field)
        }),
        Value::Array(list) => list
            .iter()
            .enumerate()
            .find_map(|(i, v)| raw_credential(v, &format!("{path}[{i}]"))),
        Value::String(s)
            if s.split(|c: char| c.is_whitespace() || "\"'=:,;()[]{}<>".contains(c))
                .any(looks_like_a_key) =>
        {
            Some(path.to_owned())
        }
        _ => None,
    }
}
