//! Checks of what a tenant registers, and rendering of registered prompts.

use serde_json::{json, Map, Value};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{content, invalid, uri_template, RegistryError};

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
const MAX_MESSAGES: usize = 20;
const MAX_VALUES: usize = 100;

fn object(body: &Value) -> Result<&Map<String, Value>, RegistryError> {
    body.as_object().ok_or_else(|| invalid("body", "must be a JSON object"))
}

fn known(obj: &Map<String, Value>, fields: &[&str]) -> Result<(), RegistryError> {
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid(k, format!("unknown field; expected {}", fields.join(", ")))),
        None => Ok(()),
    }
}

/// Whether `text` has the shape of a registered item's name: 1–64 of letters, digits, `_` and `-`.
#[must_use]
pub fn is_name(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A name: 1–64 of letters, digits, `_` and `-`, not a built-in one.
fn name(obj: &Map<String, Value>, field: &str) -> Result<String, RegistryError> {
    let text = obj.get(field).and_then(Value::as_str).unwrap_or_default();
    if !is_name(text) {
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
/// `endpoint` (`https://…`; `http://` only when `allow_http`), `answer_format`: `json` (the default:
/// the endpoint's answer is the tool's value) or `mcp` (its answer is an MCP tool result, streamed
/// as NDJSON lines after any notifications).
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn tool(body: &Value, allow_http: bool) -> Result<Value, RegistryError> {
    let obj = object(body)?;
    known(
        obj,
        &["name", "description", "input_schema", "endpoint", "answer_format"],
    )?;
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
    let format = match obj.get("answer_format") {
        None => "json",
        Some(Value::String(f)) if f == "json" || f == "mcp" => f.as_str(),
        Some(_) => return Err(invalid("answer_format", "must be json or mcp")),
    };
    Ok(
        json!({"name": name, "description": description, "input_schema": schema, "endpoint": endpoint,
        "answer_format": format}),
    )
}

/// The `{{argument}}` placeholders of a template.
fn placeholders(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(n, _)| n.trim().to_owned()))
        .collect()
}

/// Suggested values of one prompt argument (for `completion/complete`): at most 100 strings of 1
/// to 256 bytes.
fn values(a: &Map<String, Value>, field: &str) -> Result<Value, RegistryError> {
    let Some(list) = a.get("values") else {
        return Ok(Value::Array(Vec::new()));
    };
    let ok = list.as_array().is_some_and(|l| {
        l.len() <= MAX_VALUES
            && l.iter()
                .all(|v| v.as_str().is_some_and(|s| (1..=256).contains(&s.len())))
    });
    if !ok {
        return Err(invalid(
            &format!("{field}.values"),
            format!("must be an array of at most {MAX_VALUES} strings of 1 to 256 bytes"),
        ));
    }
    Ok(list.clone())
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
            known(a, &["name", "description", "required", "values"])?;
            let n = name(a, "name")
                .map_err(|_| invalid(&format!("{field}.name"), "must be 1 to 64 letters, digits, _ or -"))?;
            let required = a.get("required").map_or(Some(false), Value::as_bool);
            let required = required.ok_or_else(|| invalid(&format!("{field}.required"), "must be true or false"))?;
            let values = values(a, &field)?;
            Ok(json!({"name": n, "description": text(a, "description", 1024, false)?, "required": required, "values": values}))
        })
        .collect()
}

/// A prompt's `messages`: 1 to [`MAX_MESSAGES`] of `{"role": "user" | "assistant", "content": <an
/// MCP content block>}`, at most [`MAX_CONTENT_BYTES`] in all.
fn messages(list: &Value) -> Result<Vec<Value>, RegistryError> {
    let list = list
        .as_array()
        .filter(|l| (1..=MAX_MESSAGES).contains(&l.len()) && list.to_string().len() <= MAX_CONTENT_BYTES);
    let list = list.ok_or_else(|| {
        invalid(
            "messages",
            format!("must be an array of 1 to {MAX_MESSAGES} messages, at most {MAX_CONTENT_BYTES} bytes in all"),
        )
    })?;
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("messages[{i}]");
            let obj = m.as_object().ok_or_else(|| invalid(&at, "must be an object"))?;
            known(obj, &["role", "content"])?;
            if !matches!(obj.get("role").and_then(Value::as_str), Some("user" | "assistant")) {
                return Err(invalid(&format!("{at}.role"), "must be user or assistant"));
            }
            content::block(obj.get("content").unwrap_or(&Value::Null), &format!("{at}.content"))?;
            Ok(m.clone())
        })
        .collect()
}

/// A prompt: `name`, `description`, `arguments` (`name`, `description`, `required`, suggested
/// `values`), and either a `template` (one user message of text) or `messages` (MCP content blocks
/// of any type); every `{{placeholder}}` must be a declared argument.
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn prompt(body: &Value) -> Result<Value, RegistryError> {
    let obj = object(body)?;
    known(obj, &["name", "description", "template", "messages", "arguments"])?;
    let name = name(obj, "name")?;
    let description = text(obj, "description", 1024, false)?;
    let arguments = arguments(obj)?;
    let declared: Vec<&str> = arguments.iter().filter_map(|a| a["name"].as_str()).collect();
    let (body, texts) = match (obj.get("template"), obj.get("messages")) {
        (Some(_), None) => {
            let template = text(obj, "template", MAX_TEMPLATE_BYTES, true)?.unwrap_or_default();
            (("template", json!(template)), vec![template])
        }
        (None, Some(list)) => {
            let list = messages(list)?;
            let texts = list.iter().flat_map(|m| content::texts(&m["content"])).collect();
            (("messages", json!(list)), texts)
        }
        _ => return Err(invalid("template", "give a template or messages (one of them)")),
    };
    if let Some(p) = texts
        .iter()
        .flat_map(|t| placeholders(t))
        .find(|p| !declared.contains(&p.as_str()))
    {
        return Err(invalid(
            body.0,
            format!("uses {{{{{p}}}}}, which is not a declared argument"),
        ));
    }
    let mut doc = json!({"name": name, "description": description, "arguments": arguments});
    doc[body.0] = body.1;
    Ok(doc)
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

/// A resource's `uri`, or its `uri_template` (RFC 6570, [`uri_template`]): either is its key.
fn resource_key(obj: &Map<String, Value>) -> Result<(String, Option<Vec<String>>), RegistryError> {
    let bad_uri = "must be scheme://… without spaces, and not under data:// (built-in)";
    match (obj.get("uri"), obj.get("uri_template")) {
        (Some(_), None) => {
            let uri = text(obj, "uri", MAX_URI_BYTES, true)?.unwrap_or_default();
            if !is_resource_uri(&uri) {
                return Err(invalid("uri", bad_uri));
            }
            if uri.contains(['{', '}']) {
                return Err(invalid("uri", "may not hold { or }: register a uri_template instead"));
            }
            Ok((uri, None))
        }
        (None, Some(_)) => {
            let template = text(obj, "uri_template", MAX_URI_BYTES, true)?.unwrap_or_default();
            let vars = uri_template::variables(&template).map_err(|m| invalid("uri_template", m))?;
            if !is_resource_uri(&uri_template::example(&template)) {
                return Err(invalid("uri_template", bad_uri));
            }
            Ok((template, Some(vars)))
        }
        _ => Err(invalid("uri", "give a uri or a uri_template (one of them)")),
    }
}

/// A resource: `uri` (`scheme://…`, not under `data://`) or `uri_template`, `name`, `description`,
/// `mime_type`, and its `content` (a string, or any JSON for `application/json`; a template's text
/// may use its variables as `{{name}}`) or `blob` (base64 binary, default type
/// `application/octet-stream`).
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn resource(body: &Value) -> Result<Value, RegistryError> {
    let obj = object(body)?;
    known(
        obj,
        &[
            "uri",
            "uri_template",
            "name",
            "description",
            "mime_type",
            "content",
            "blob",
        ],
    )?;
    let (uri, vars) = resource_key(obj)?;
    let name = text(obj, "name", 128, true)?;
    let description = text(obj, "description", 1024, false)?;
    let default_mime = if obj.contains_key("blob") {
        "application/octet-stream"
    } else {
        "text/plain"
    };
    let mime = text(obj, "mime_type", 128, false)?.unwrap_or_else(|| default_mime.into());
    let mut doc = json!({"uri": uri, "name": name, "description": description, "mime_type": mime});
    let fits = |v: &Value| v.to_string().len() <= MAX_CONTENT_BYTES;
    match (obj.get("content"), obj.get("blob")) {
        (None, Some(blob @ Value::String(b))) if fits(blob) && STANDARD.decode(b).is_ok() => doc["blob"] = blob.clone(),
        (None, Some(_)) => {
            return Err(invalid(
                "blob",
                format!("must be base64 (RFC 4648) of at most {MAX_CONTENT_BYTES} bytes"),
            ))
        }
        (Some(content @ Value::String(_)), None) if fits(content) => doc["content"] = content.clone(),
        (Some(content), None) if mime == "application/json" && vars.is_none() && fits(content) => {
            doc["content"] = content.clone();
        }
        (Some(_), None) => {
            return Err(invalid(
                "content",
                format!("must be a string (or JSON for application/json) of at most {MAX_CONTENT_BYTES} bytes"),
            ))
        }
        _ => return Err(invalid("content", "give content or a blob (one of them)")),
    }
    if let Some(vars) = vars {
        let text = doc["content"].as_str().unwrap_or_default();
        if let Some(p) = placeholders(text).into_iter().find(|p| !vars.contains(p)) {
            return Err(invalid(
                "content",
                format!("uses {{{{{p}}}}}, which is not a variable of the uri_template"),
            ));
        }
        doc["uri_template"] = json!(uri);
    }
    Ok(doc)
}

/// Most bytes a rendered prompt's text, or a filled template's, may have.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;

/// `text` with each `{{name}}` (spaces inside allowed) of `values` replaced by its value, in one
/// pass: braces in a value are never read as placeholders. `None` past [`MAX_RENDERED_BYTES`].
#[must_use]
pub fn fill_placeholders(text: &str, values: &[(String, String)]) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        match values.iter().find(|(n, _)| n == after[..close].trim()) {
            Some((_, value)) => out.push_str(value),
            None => out.push_str(&rest[open..open + close + 4]),
        }
        rest = &after[close + 2..];
        if out.len() > MAX_RENDERED_BYTES {
            return None;
        }
    }
    out.push_str(rest);
    (out.len() <= MAX_RENDERED_BYTES).then_some(out)
}

/// Whether a media type is JSON text: `application/json` or a `+json` type (RFC 6839), whatever its
/// parameters and case.
fn is_json(mime: &str) -> bool {
    let base = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    base == "application/json" || (base.starts_with("application/") && base.ends_with("+json"))
}

/// What a client reads of a registered resource at `uri` (the resource's own, or one its template
/// matched with `values`): MCP's `{"uri", "mimeType", "text" | "blob"}`, a template's text filled
/// (each value JSON-escaped when the type is JSON, `application/json` or `+json`, so a value cannot
/// change the document's structure). `None` when the filled text would pass [`MAX_RENDERED_BYTES`].
#[must_use]
pub fn resource_contents(doc: &Value, uri: &str, values: &[(String, String)]) -> Option<Value> {
    let mut out = json!({"uri": uri, "mimeType": doc["mime_type"]});
    if let Some(blob) = doc.get("blob") {
        out["blob"] = blob.clone();
        return Some(out);
    }
    let text = match &doc["content"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let escaped: Vec<(String, String)> = if doc["mime_type"].as_str().is_some_and(is_json) {
        values
            .iter()
            .map(|(n, v)| {
                let quoted = Value::String(v.clone()).to_string();
                (n.clone(), quoted[1..quoted.len() - 1].to_owned())
            })
            .collect()
    } else {
        values.to_vec()
    };
    out["text"] = json!(fill_placeholders(&text, &escaped)?);
    Some(out)
}

/// The arguments of a use of `prompt`, checked: every required one present, none unknown, all
/// strings; each declared argument's value (empty when optional and absent).
fn filled(prompt: &Value, args: &Map<String, Value>) -> Result<Vec<(String, String)>, RegistryError> {
    let declared: Vec<&Value> = prompt["arguments"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if let Some(k) = args.keys().find(|k| !declared.iter().any(|d| d["name"] == k.as_str())) {
        return Err(invalid(k, "is not an argument of this prompt"));
    }
    declared
        .into_iter()
        .map(|d| {
            let n = d["name"].as_str().unwrap_or_default();
            match args.get(n) {
                Some(Value::String(s)) => Ok((n.to_owned(), s.clone())),
                Some(_) => Err(invalid(n, "must be a string")),
                None if d["required"] == true => Err(invalid(n, "is required")),
                None => Ok((n.to_owned(), String::new())),
            }
        })
        .collect()
}

/// Renders a registered prompt with `args` (checked as [`filled`] says) into its MCP messages: the
/// template as one user text message, or each message with its placeholders filled.
///
/// # Errors
/// [`RegistryError::Invalid`] naming the argument.
pub fn render(prompt: &Value, args: &Map<String, Value>) -> Result<Vec<Value>, RegistryError> {
    let values = filled(prompt, args)?;
    let over = std::cell::Cell::new(false);
    let fill = |text: &str| {
        fill_placeholders(text, &values).unwrap_or_else(|| {
            over.set(true);
            String::new()
        })
    };
    let too_large = || {
        invalid(
            "arguments",
            format!("would fill the prompt past {MAX_RENDERED_BYTES} bytes"),
        )
    };
    if let Some(template) = prompt["template"].as_str() {
        let text = fill(template);
        if over.get() {
            return Err(too_large());
        }
        return Ok(vec![json!({"role": "user", "content": {"type": "text", "text": text}})]);
    }
    let mut messages = prompt["messages"].as_array().cloned().unwrap_or_default();
    for m in &mut messages {
        content::fill(&mut m["content"], &fill);
    }
    if over.get() {
        return Err(too_large());
    }
    Ok(messages)
}

#[cfg(test)]
mod tests;
