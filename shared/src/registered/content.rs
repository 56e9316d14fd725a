//! MCP content blocks in what a tenant registers (a prompt's messages): each checked for its type's
//! fields, and the `{{argument}}` placeholders they carry found and filled.
//!
//! A block is MCP's own shape: `{"type": "text", "text"}`, `{"type": "image" | "audio", "data",
//! "mimeType"}` (base64 data), `{"type": "resource", "resource": {"uri", "mimeType", "text" |
//! "blob"}}`, `{"type": "resource_link", "uri", "name", …}`; `annotations` and `_meta` are kept.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use super::{invalid, RegistryError};

/// The block types a registration may use.
pub const TYPES: [&str; 5] = ["text", "image", "audio", "resource", "resource_link"];

fn string<'a>(obj: &'a Map<String, Value>, field: &str, at: &str) -> Result<&'a str, RegistryError> {
    obj.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(&format!("{at}.{field}"), "must be a non-empty string"))
}

fn base64(obj: &Map<String, Value>, field: &str, at: &str) -> Result<(), RegistryError> {
    let data = string(obj, field, at)?;
    STANDARD
        .decode(data)
        .map(|_| ())
        .map_err(|_| invalid(&format!("{at}.{field}"), "must be base64 (RFC 4648, with padding)"))
}

fn only(obj: &Map<String, Value>, fields: &[&str], at: &str) -> Result<(), RegistryError> {
    if let Some(k) = obj
        .keys()
        .find(|k| !fields.contains(&k.as_str()) && !["annotations", "_meta"].contains(&k.as_str()))
    {
        return Err(invalid(
            &format!("{at}.{k}"),
            format!("unknown field; expected {}", fields.join(", ")),
        ));
    }
    if obj.get("_meta").is_some_and(|m| !m.is_object()) {
        return Err(invalid(&format!("{at}._meta"), "must be an object"));
    }
    match obj.get("annotations") {
        Some(a) => annotations(a, &format!("{at}.annotations")),
        None => Ok(()),
    }
}

/// MCP's annotations: `audience` (of `user`, `assistant`), `priority` (0 to 1), `lastModified`.
fn annotations(value: &Value, at: &str) -> Result<(), RegistryError> {
    let obj = value.as_object().ok_or_else(|| invalid(at, "must be an object"))?;
    for (key, v) in obj {
        let ok = match key.as_str() {
            "audience" => v
                .as_array()
                .is_some_and(|a| a.iter().all(|r| r == "user" || r == "assistant")),
            "priority" => v.as_f64().is_some_and(|p| (0.0..=1.0).contains(&p)),
            "lastModified" => v.is_string(),
            _ => false,
        };
        if !ok {
            return Err(invalid(
                &format!("{at}.{key}"),
                "must be audience (user, assistant), priority (0 to 1) or lastModified (a string)",
            ));
        }
    }
    Ok(())
}

/// Checks an embedded resource's `resource`: `uri`, optional `mimeType`, and exactly one of `text`
/// and `blob` (base64).
fn embedded(resource: Option<&Value>, at: &str) -> Result<(), RegistryError> {
    let at = format!("{at}.resource");
    let obj = resource
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(&at, "must be an object"))?;
    only(obj, &["uri", "mimeType", "text", "blob"], &at)?;
    string(obj, "uri", &at)?;
    if obj.contains_key("mimeType") {
        string(obj, "mimeType", &at)?;
    }
    match (obj.get("text"), obj.get("blob")) {
        (Some(Value::String(_)), None) => Ok(()),
        (None, Some(_)) => base64(obj, "blob", &at),
        _ => Err(invalid(&at, "must have a string text or a base64 blob, not both")),
    }
}

/// Checks one content block at `at` (a field path for the error).
///
/// # Errors
/// [`RegistryError::Invalid`] naming the field.
pub fn block(value: &Value, at: &str) -> Result<(), RegistryError> {
    let obj = value.as_object().ok_or_else(|| invalid(at, "must be an object"))?;
    match obj.get("type").and_then(Value::as_str).unwrap_or_default() {
        "text" => {
            only(obj, &["type", "text"], at)?;
            obj.get("text")
                .and_then(Value::as_str)
                .map(|_| ())
                .ok_or_else(|| invalid(&format!("{at}.text"), "must be a string"))
        }
        kind @ ("image" | "audio") => {
            only(obj, &["type", "data", "mimeType"], at)?;
            base64(obj, "data", at)?;
            let mime = string(obj, "mimeType", at)?;
            if !mime.starts_with(&format!("{kind}/")) {
                return Err(invalid(&format!("{at}.mimeType"), format!("must be a {kind}/… type")));
            }
            Ok(())
        }
        "resource" => {
            only(obj, &["type", "resource"], at)?;
            embedded(obj.get("resource"), at)
        }
        "resource_link" => {
            only(
                obj,
                &["type", "uri", "name", "title", "description", "mimeType", "size"],
                at,
            )?;
            string(obj, "uri", at)?;
            string(obj, "name", at)?;
            for field in ["title", "description", "mimeType"] {
                if obj.get(field).is_some_and(|v| !v.is_string()) {
                    return Err(invalid(&format!("{at}.{field}"), "must be a string"));
                }
            }
            if obj.get("size").is_some_and(|v| !v.is_u64()) {
                return Err(invalid(&format!("{at}.size"), "must be a whole number of bytes"));
            }
            Ok(())
        }
        _ => Err(invalid(
            &format!("{at}.type"),
            format!("must be one of {}", TYPES.join(", ")),
        )),
    }
}

/// The strings of a block that may carry `{{argument}}` placeholders: a text's `text`, an embedded
/// resource's `uri` and `text`, a link's `uri`.
fn fillable(block: &mut Value) -> Vec<&mut Value> {
    let Some(obj) = block.as_object_mut() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in obj.iter_mut() {
        match key.as_str() {
            "text" | "uri" => out.push(value),
            "resource" => {
                if let Some(inner) = value.as_object_mut() {
                    out.extend(
                        inner
                            .iter_mut()
                            .filter(|(k, _)| matches!(k.as_str(), "uri" | "text"))
                            .map(|(_, v)| v),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The placeholder-carrying strings of a block, read-only.
#[must_use]
pub fn texts(block: &Value) -> Vec<String> {
    let mut copy = block.clone();
    fillable(&mut copy)
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Fills a block's placeholders with `fill` (each string in, its filled form out).
pub fn fill(block: &mut Value, fill: &dyn Fn(&str) -> String) {
    for value in fillable(block) {
        if let Some(s) = value.as_str() {
            *value = Value::String(fill(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_block_type_is_checked_for_its_own_fields() {
        let png = "iVBORw0KGgo=";
        for ok in [
            json!({"type": "text", "text": "hi"}),
            json!({"type": "image", "data": png, "mimeType": "image/png"}),
            json!({"type": "audio", "data": png, "mimeType": "audio/wav", "annotations": {"priority": 1}}),
            json!({"type": "resource", "resource": {"uri": "test://r", "mimeType": "text/plain", "text": "x"}}),
            json!({"type": "resource", "resource": {"uri": "test://r", "blob": png}}),
            json!({"type": "resource_link", "uri": "test://r", "name": "r"}),
        ] {
            block(&ok, "m").unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, field) in [
            (json!({"type": "video"}), "m.type"),
            (
                json!({"type": "image", "data": "not base64!", "mimeType": "image/png"}),
                "m.data",
            ),
            (
                json!({"type": "audio", "data": png, "mimeType": "image/png"}),
                "m.mimeType",
            ),
            (
                json!({"type": "resource", "resource": {"uri": "test://r", "text": "a", "blob": png}}),
                "m.resource",
            ),
            (json!({"type": "resource", "resource": {"text": "a"}}), "m.resource.uri"),
            (json!({"type": "text", "text": "a", "extra": 1}), "m.extra"),
            (json!({"type": "text", "text": "a", "_meta": 5}), "m._meta"),
            (
                json!({"type": "text", "text": "a", "annotations": {"priority": "high"}}),
                "m.annotations.priority",
            ),
            (
                json!({"type": "resource_link", "uri": "u", "name": "n", "size": "big"}),
                "m.size",
            ),
            (
                json!({"type": "resource_link", "uri": "u", "name": "n", "title": 1}),
                "m.title",
            ),
        ] {
            let err = block(&bad, "m").unwrap_err();
            assert!(
                matches!(&err, RegistryError::Invalid { field: f, .. } if f == field),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn placeholders_are_filled_in_text_and_resource_uris_only() {
        let mut b = json!({"type": "resource", "resource": {"uri": "{{u}}", "mimeType": "{{u}}", "text": "see {{u}}"}});
        assert_eq!(texts(&b).len(), 2);
        fill(&mut b, &|s| s.replace("{{u}}", "test://x"));
        assert_eq!(
            b,
            json!({"type": "resource", "resource": {"uri": "test://x", "mimeType": "{{u}}", "text": "see test://x"}})
        );
    }
}
