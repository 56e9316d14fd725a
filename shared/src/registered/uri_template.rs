//! Resource templates: RFC 6570 URI templates of level 1 and 2 (`{var}`, and `{+var}`, whose value
//! may hold `/`), checked when registered and matched against the URIs clients read.

/// One piece of a template: literal text, or a variable (`true` when reserved, `{+var}`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String, bool),
}

/// The template's pieces, or what is wrong with it: every `{…}` a variable name (letters, digits,
/// `_`) with an optional `+`, no two variables side by side, at least one variable.
fn parse(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Literal(rest[..open].to_owned()));
        }
        let close = rest[open..].find('}').ok_or("has a { without its }")? + open;
        let expr = &rest[open + 1..close];
        let (name, reserved) = expr.strip_prefix('+').map_or((expr, false), |n| (n, true));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "has {{{expr}}}; only {{name}} and {{+name}} (letters, digits, _) are supported"
            ));
        }
        if matches!(parts.last(), Some(Part::Var(..))) {
            return Err("has two variables side by side, which no URI can tell apart".into());
        }
        parts.push(Part::Var(name.to_owned(), reserved));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a } without its {".into());
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    if !parts.iter().any(|p| matches!(p, Part::Var(..))) {
        return Err("has no {variable}; register a plain uri instead".into());
    }
    Ok(parts)
}

/// The template's variable names, in order.
///
/// # Errors
/// What is wrong with the template.
pub fn variables(template: &str) -> Result<Vec<String>, String> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Var(name, _) => Some(name),
            Part::Literal(_) => None,
        })
        .collect())
}

/// The template with each variable replaced by `x`: a URI of its shape, for the URI checks.
#[must_use]
pub fn example(template: &str) -> String {
    parse(template)
        .unwrap_or_default()
        .into_iter()
        .map(|p| match p {
            Part::Literal(text) => text,
            Part::Var(..) => "x".to_owned(),
        })
        .collect()
}

/// The variables' values when `uri` is an expansion of `template`: each value non-empty, up to the
/// first place the next literal text follows (the last, for a reserved `{+var}`), without `/`, `?`
/// or `#` unless reserved. Values are percent-decoded (an expansion percent-encodes them: `a%20b` is
/// `a b`, and `%2F` a `/` even in a `{var}`; a `{+var}` expansion passes a `%XX` through as written, so
/// there decoding is this server's choice, the one a reader of the URI expects); a value that does
/// not decode to UTF-8 matches nothing.
#[must_use]
pub fn matches(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let parts = parse(template).ok()?;
    let mut values = Vec::new();
    let mut rest = uri;
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
            Part::Var(name, reserved) => {
                // A reserved value may hold the next literal: it reaches its last occurrence.
                let end = match parts.get(i + 1) {
                    Some(Part::Literal(next)) if *reserved => rest.rfind(next.as_str())?,
                    Some(Part::Literal(next)) => rest.find(next.as_str())?,
                    _ => rest.len(),
                };
                let value = &rest[..end];
                let unreserved = !value.contains(['/', '?', '#']);
                if value.is_empty() || !(*reserved || unreserved) {
                    return None;
                }
                let decoded = percent_encoding::percent_decode_str(value).decode_utf8().ok()?;
                values.push((name.clone(), decoded.into_owned()));
                rest = &rest[end..];
            }
        }
    }
    rest.is_empty().then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_matches_its_template_and_names_each_value() {
        let t = "test://template/{id}/data";
        assert_eq!(variables(t).unwrap(), vec!["id"]);
        assert_eq!(
            matches(t, "test://template/123/data"),
            Some(vec![("id".into(), "123".into())])
        );
        for other in [
            "test://template//data",
            "test://template/1/2/data",
            "test://template/1/datax",
            "test://other/1/data",
        ] {
            assert_eq!(matches(t, other), None, "{other}");
        }
        assert_eq!(
            matches("docs://{+path}", "docs://a/b/c"),
            Some(vec![("path".into(), "a/b/c".into())])
        );
        assert_eq!(matches("docs://{path}", "docs://a/b"), None);
        assert_eq!(
            matches("docs://{+p}/x", "docs://a/x/b/x"),
            Some(vec![("p".into(), "a/x/b".into())])
        );
        assert_eq!(example("docs://{a}/x/{+b}"), "docs://x/x/x");
    }

    #[test]
    fn values_are_percent_decoded_as_their_expansion_encoded_them() {
        assert_eq!(
            matches("docs://items/{id}", "docs://items/a%20b%2Fc"),
            Some(vec![("id".into(), "a b/c".into())])
        );
        assert_eq!(
            matches("docs://{+path}", "docs://a/b%20c%C3%A9"),
            Some(vec![("path".into(), "a/b cé".into())])
        );
        // Bytes that are no UTF-8 text are no value.
        assert_eq!(matches("docs://items/{id}", "docs://items/%FF"), None);
        // A malformed escape is taken as written, as the URL standard's decoder takes it.
        assert_eq!(
            matches("docs://items/{id}", "docs://items/100%"),
            Some(vec![("id".into(), "100%".into())])
        );
    }

    #[test]
    fn templates_outside_levels_1_and_2_are_refused_with_a_reason() {
        for bad in [
            "docs://plain",
            "docs://{a}{b}",
            "docs://{?q}",
            "docs://{a",
            "docs://a}",
            "docs://{}",
        ] {
            assert!(variables(bad).is_err(), "{bad}");
        }
    }
}
