//! Checks of what a tenant registers, and rendering of registered prompts.

use serde_json::{json, Map, Value};

use super::{invalid, RegistryError};

/// Names the built-in tools and prompts use; a registration may not shadow them.
pub const BUILT_IN: [&str; 13] = [
    "create_task",
    "get_task_status",
    "list_tasks",
    "get_task_result",
    "cancel_task",
    "create_context",
    "get_context",
    "add_prompt",
    "delete_context",
    "task_summary",
    "system_health",
    "task_analysis",
    "performance_review",
];

const MAX_SCHEMA_BYTES: usize = 16 * 1024;
const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
const MAX_CONTENT_BYTES: usize = 64 * 1024;
const MAX_ARGUMENTS: usize = 20;

fn object(body: &Value) -> Result<&Map<String, Value>, RegistryError> {
    body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))
}

fn known(obj: &Map<String, Value>, fields: &[&str]) -> Result<(), RegistryError> {
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid(k, format!("unknown field; expected {}", fields.join(", ")))),
        None => Ok(()),
    }
}

/// A name: 1–64 of letters, digits, `_` and `-`, not a built-in one.
fn name(obj: &Map<String, Value>, field: &str) -> Result<String, RegistryError> {
    let text = obj.get(field).and_then(Value::as_str).unwrap_or_default();
    let ok = (1..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(invalid(field, "must be 1 to 64 letters, digits, _ or -"));
    }
    if BUILT_IN.contains(&text) {
        return Err(invalid(field, format!("{text} is a built-in name")));
    }
    Ok(text.to_owned())
}

fn text(obj: &Map<String, Value>, field: &str, max: usize, required: bool) -> Result<Option<String>, RegistryError> {
    match obj.get(field) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max => Ok(Some(s.clone())),
        _ => Err(invalid(field, format!("must be a string of 1 to {max} bytes"))),
    }
}

/// Compiles a tool's schema as calls will use it: valid against its meta-schema, every `$ref`
/// resolvable inside it (nothing is fetched), every `pattern` a valid regular expression.
///
/// # Errors
/// [`RegistryError::Invalid`] naming `input_schema`.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, RegistryError> {
    jsonschema::options()
        .offline()
        .build(schema)
        .map_err(|e| invalid("input_schema", format!("is not a valid JSON Schema: {e}")))
}

/// A tool: `name`, `description`, `input_schema` (a JSON Schema of an object that compiles),
/// `endpoint` (`https://…`; `http://` only when `allow_http`).
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn tool(body: &Value, allow_http: bool) -> Result<Value, RegistryError> {
    let obj = object(body)?;
    known(obj, &["name", "description", "input_schema", "endpoint"])?;
    let name = name(obj, "name")?;
    let description = text(obj, "description", 1024, true)?;
    let schema = obj.get("input_schema").cloned().unwrap_or(Value::Null);
    if !schema.is_object() || schema.to_string().len() > MAX_SCHEMA_BYTES {
        return Err(invalid(
            "input_schema",
            format!("must be a JSON Schema object of at most {MAX_SCHEMA_BYTES} bytes"),
        ));
    }
    compile(&schema)?;
    if schema.get("type").is_some_and(|t| t != "object") {
        return Err(invalid("input_schema", "must describe an object (type: object)"));
    }
    let endpoint = text(obj, "endpoint", 2048, true)?.unwrap_or_default();
    super::endpoint::check_url(&endpoint, allow_http).map_err(|m| invalid("endpoint", m))?;
    Ok(json!({"name": name, "description": description, "input_schema": schema, "endpoint": endpoint}))
}

/// The `{{argument}}` placeholders of a template.
fn placeholders(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(n, _)| n.trim().to_owned()))
        .collect()
}

fn arguments(obj: &Map<String, Value>) -> Result<Vec<Value>, RegistryError> {
    let Some(list) = obj.get("arguments") else {
        return Ok(Vec::new());
    };
    let list = list.as_array().filter(|a| a.len() <= MAX_ARGUMENTS);
    let list = list.ok_or_else(|| invalid("arguments", format!("must be an array of at most {MAX_ARGUMENTS}")))?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let field = format!("arguments[{i}]");
            let a = a.as_object().ok_or_else(|| invalid(&field, "must be an object"))?;
            known(a, &["name", "description", "required"])?;
            let n = name(a, "name")
                .map_err(|_| invalid(&format!("{field}.name"), "must be 1 to 64 letters, digits, _ or -"))?;
            let required = a.get("required").map_or(Some(false), Value::as_bool);
            let required = required.ok_or_else(|| invalid(&format!("{field}.required"), "must be true or false"))?;
            Ok(json!({"name": n, "description": text(a, "description", 1024, false)?, "required": required}))
        })
        .collect()
}

/// A prompt: `name`, `description`, `template` with `{{argument}}` placeholders, `arguments`
/// (`name`, `description`, `required`); every placeholder must be a declared argument.
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn prompt(body: &Value) -> Result<Value, RegistryError> {
    let obj = object(body)?;
    known(obj, &["name", "description", "template", "arguments"])?;
    let name = name(obj, "name")?;
    let description = text(obj, "description", 1024, false)?;
    let template = text(obj, "template", MAX_TEMPLATE_BYTES, true)?.unwrap_or_default();
    let arguments = arguments(obj)?;
    let declared: Vec<&str> = arguments.iter().filter_map(|a| a["name"].as_str()).collect();
    if let Some(p) = placeholders(&template).iter().find(|p| !declared.contains(&p.as_str())) {
        return Err(invalid(
            "template",
            format!("uses {{{{{p}}}}}, which is not a declared argument"),
        ));
    }
    Ok(json!({"name": name, "description": description, "template": template, "arguments": arguments}))
}

/// The longest URI a registered resource may have.
pub const MAX_URI_BYTES: usize = 512;

/// Whether `uri` may name a registered resource: `scheme://…` of at most [`MAX_URI_BYTES`] bytes, without
/// whitespace, not under `data://` (built-in).
#[must_use]
fn is_resource_uri(uri: &str) -> bool {
    let scheme_ok = uri.split_once("://").is_some_and(|(s, rest)| {
        !s.is_empty() && !rest.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    scheme_ok && uri.len() <= MAX_URI_BYTES && !uri.starts_with("data://") && !uri.chars().any(char::is_whitespace)
}

/// A resource: `uri` (`scheme://…`, not under `data://`), `name`, `description`, `mime_type`
/// (default `text/plain`), `content` (a string, or any JSON for `application/json`).
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn resource(body: &Value) -> Result<Value, RegistryError> {
    let obj = object(body)?;
    known(obj, &["uri", "name", "description", "mime_type", "content"])?;
    let uri = text(obj, "uri", MAX_URI_BYTES, true)?.unwrap_or_default();
    if !is_resource_uri(&uri) {
        return Err(invalid(
            "uri",
            "must be scheme://… without spaces, and not under data:// (built-in)",
        ));
    }
    let name = text(obj, "name", 128, true)?;
    let description = text(obj, "description", 1024, false)?;
    let mime = text(obj, "mime_type", 128, false)?.unwrap_or_else(|| "text/plain".into());
    let content = obj.get("content").cloned().unwrap_or(Value::Null);
    let fits = |v: &Value| v.to_string().len() <= MAX_CONTENT_BYTES;
    match (&content, mime.as_str()) {
        (Value::Null, _) => return Err(invalid("content", "is required")),
        (Value::String(_), _) if fits(&content) => {}
        (_, "application/json") if fits(&content) => {}
        _ => {
            return Err(invalid(
                "content",
                format!("must be a string (or JSON for application/json) of at most {MAX_CONTENT_BYTES} bytes"),
            ))
        }
    }
    Ok(json!({"uri": uri, "name": name, "description": description, "mime_type": mime, "content": content}))
}

/// Renders a registered prompt with `args`: every required argument present, none unknown, all
/// strings.
///
/// # Errors
/// [`RegistryError::Invalid`] naming the argument.
pub fn render(prompt: &Value, args: &Map<String, Value>) -> Result<String, RegistryError> {
    let declared: Vec<&Value> = prompt["arguments"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if let Some(k) = args.keys().find(|k| !declared.iter().any(|d| d["name"] == k.as_str())) {
        return Err(invalid(k, "is not an argument of this prompt"));
    }
    let mut out = prompt["template"].as_str().unwrap_or_default().to_owned();
    for d in declared {
        let n = d["name"].as_str().unwrap_or_default();
        let value = match args.get(n) {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid(n, "must be a string")),
            None if d["required"] == true => return Err(invalid(n, "is required")),
            None => String::new(),
        };
        out = out
            .replace(&format!("{{{{{n}}}}}"), &value)
            .replace(&format!("{{{{ {n} }}}}"), &value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
