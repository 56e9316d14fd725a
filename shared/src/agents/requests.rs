//! What a caller sends: a registration, a heartbeat, a listing's filter; each checked field by field,
//! the first wrong one named.

use serde_json::{Map, Value};

use super::{invalid, AgentError, AgentType, Liveness};

/// Capabilities an agent may advertise at most.
pub const MAX_CAPABILITIES: usize = 32;
/// The longest agent name, capability or reported status.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest endpoint URL.
pub const MAX_URL_BYTES: usize = 2048;
/// What an agent may say of itself in a heartbeat.
pub const REPORTED_STATUSES: [&str; 3] = ["idle", "busy", "draining"];

/// A checked registration.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub name: String,
    pub agent_type: AgentType,
    pub capabilities: Vec<String>,
    pub endpoints: Value,
    pub resources: Value,
}

fn object<'a>(body: &'a Value, what: &str) -> Result<&'a Map<String, Value>, AgentError> {
    body.as_object().ok_or_else(|| invalid(what, "must be a JSON object"))
}

fn known(obj: &Map<String, Value>, fields: &[&str], prefix: &str) -> Result<(), AgentError> {
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            &format!("{prefix}{k}"),
            format!("unknown field; expected one of {}", fields.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A capability or name: 1 to [`MAX_NAME_CHARS`] characters, no control characters, not blank.
fn label(value: Option<&Value>, field: &str) -> Result<String, AgentError> {
    match value.and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= MAX_NAME_CHARS && !s.chars().any(char::is_control) => {
            Ok(s.to_owned())
        }
        _ => Err(invalid(
            field,
            format!("must be a string of 1 to {MAX_NAME_CHARS} characters"),
        )),
    }
}

/// `name`, `type` (worker, orchestrator, validator), `capabilities` (stage types and free tags),
/// optional `endpoints` (`task`, `status`, `health` URLs) and `resources` (`cpu`, `memory`, `gpu`).
///
/// # Errors
/// [`AgentError::Invalid`] naming the first wrong field.
pub fn registration(body: &Value) -> Result<Registration, AgentError> {
    let obj = object(body, "body")?;
    known(obj, &["name", "type", "capabilities", "endpoints", "resources"], "")?;
    let name = label(obj.get("name"), "name")?;
    let agent_type = obj
        .get("type")
        .and_then(Value::as_str)
        .and_then(AgentType::parse)
        .ok_or_else(|| invalid("type", "must be worker, orchestrator or validator"))?;
    let list = match obj.get("capabilities") {
        Some(Value::Array(list)) if list.len() <= MAX_CAPABILITIES => list,
        _ => {
            return Err(invalid(
                "capabilities",
                format!("must be a list of at most {MAX_CAPABILITIES} strings"),
            ))
        }
    };
    let mut capabilities = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let c = label(Some(c), &format!("capabilities[{i}]"))?;
        if !capabilities.contains(&c) {
            capabilities.push(c);
        }
    }
    Ok(Registration {
        name,
        agent_type,
        capabilities,
        endpoints: endpoints(obj.get("endpoints"))?,
        resources: resources(obj.get("resources"))?,
    })
}

fn endpoints(value: Option<&Value>) -> Result<Value, AgentError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Value::Object(Map::new()));
    };
    let obj = object(value, "endpoints")?;
    known(obj, &["task", "status", "health"], "endpoints.")?;
    for (k, v) in obj {
        if !v.as_str().is_some_and(endpoint_url) {
            return Err(invalid(
                &format!("endpoints.{k}"),
                format!("must be an http(s) URL with a host and no user info, of at most {MAX_URL_BYTES} bytes"),
            ));
        }
    }
    Ok(value.clone())
}

/// `http(s)://host…`: a host, no `user:pass@` (a credential would be shown to every reader), no blanks.
fn endpoint_url(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("https://").or_else(|| u.strip_prefix("http://")) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    u.len() <= MAX_URL_BYTES
        && !authority.is_empty()
        && !authority.contains('@')
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn resources(value: Option<&Value>) -> Result<Value, AgentError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Value::Object(Map::new()));
    };
    let obj = object(value, "resources")?;
    known(obj, &["cpu", "memory", "gpu"], "resources.")?;
    let count = |v: &Value| v.as_f64().is_some_and(|n| n >= 0.0);
    let short = |v: &Value| {
        v.as_str()
            .is_some_and(|s| !s.is_empty() && s.len() <= 32 && !s.chars().any(char::is_control))
    };
    for (k, v) in obj {
        let ok = match k.as_str() {
            "cpu" => count(v),
            "memory" => count(v) || short(v),
            _ => count(v) || v.is_boolean(),
        };
        if !ok {
            let shape = match k.as_str() {
                "cpu" => "a number of cores, 0 or more",
                "memory" => "a number or a size such as \"8GB\"",
                _ => "a count or true/false",
            };
            return Err(invalid(&format!("resources.{k}"), format!("must be {shape}")));
        }
    }
    Ok(value.clone())
}

/// A checked heartbeat: what the agent says of itself and its load.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub status: String,
    pub current_load: f64,
}

/// `status` (idle, busy, draining; idle by default) and `current_load` (0 to 1).
///
/// # Errors
/// [`AgentError::Invalid`] naming the first wrong field.
pub fn heartbeat(body: &Value) -> Result<Heartbeat, AgentError> {
    let obj = object(body, "body")?;
    known(obj, &["status", "current_load"], "")?;
    let status = match obj.get("status") {
        None | Some(Value::Null) => "idle".to_owned(),
        Some(v) => v
            .as_str()
            .filter(|s| REPORTED_STATUSES.contains(s))
            .map(str::to_owned)
            .ok_or_else(|| invalid("status", format!("must be one of {}", REPORTED_STATUSES.join(", "))))?,
    };
    let current_load = obj
        .get("current_load")
        .and_then(Value::as_f64)
        .filter(|l| (0.0..=1.0).contains(l))
        .ok_or_else(|| invalid("current_load", "must be a number from 0 to 1"))?;
    // Kept to 4 decimals: a number DynamoDB takes, whatever digits were sent.
    let current_load = (current_load * 10_000.0).round() / 10_000.0;
    Ok(Heartbeat { status, current_load })
}

/// Which agents a listing shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentFilter {
    pub status: Option<Liveness>,
    pub agent_type: Option<AgentType>,
    pub capability: Option<String>,
}

/// The filter of `?status=&type=&capability=`.
///
/// # Errors
/// [`AgentError::Invalid`] naming a parameter with a value it does not take.
pub fn filter(
    status: Option<&str>,
    agent_type: Option<&str>,
    capability: Option<&str>,
) -> Result<AgentFilter, AgentError> {
    Ok(AgentFilter {
        status: status
            .map(|s| Liveness::parse(s).ok_or_else(|| invalid("status", "must be active, stale or inactive")))
            .transpose()?,
        agent_type: agent_type
            .map(|t| AgentType::parse(t).ok_or_else(|| invalid("type", "must be worker, orchestrator or validator")))
            .transpose()?,
        capability: capability
            .map(|c| label(Some(&Value::from(c)), "capability"))
            .transpose()?,
    })
}
