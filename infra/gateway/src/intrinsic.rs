//! CloudFormation intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`) in both the short (`!Ref X`) and
//! long (`{Ref: X}`) forms, resolved against local physical ids.

use serde_yaml::{Mapping, Value};

/// Looks up what an intrinsic refers to.
pub trait Resolve {
    /// `Ref`: a parameter's value, a pseudo parameter, or a resource's physical id.
    fn reference(&self, name: &str) -> Option<String>;
    /// `Fn::GetAtt`: a resource attribute.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IntrinsicError {
    #[error("cannot resolve {0}")]
    Unresolved(String),
    #[error("unsupported intrinsic {0}")]
    Unsupported(String),
}

/// A reference an intrinsic makes, without resolving it: what the gateway needs to wire triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Ref(String),
    GetAtt(String, String),
}

/// Reads `!Ref X`, `!GetAtt X.Attr`, `{Ref: X}` or `{Fn::GetAtt: [X, Attr]}` without resolving it.
#[must_use]
pub fn reference(value: &Value) -> Option<Reference> {
    let (name, arg) = split(value)?;
    reference_of(&name, arg)
}

fn reference_of(name: &str, arg: &Value) -> Option<Reference> {
    match (name, arg) {
        ("Ref", Value::String(s)) => Some(Reference::Ref(s.clone())),
        ("GetAtt", Value::String(s)) => {
            let (id, attr) = s.split_once('.')?;
            Some(Reference::GetAtt(id.to_owned(), attr.to_owned()))
        }
        ("GetAtt", Value::Sequence(parts)) => match parts.as_slice() {
            [Value::String(id), Value::String(attr)] => Some(Reference::GetAtt(id.clone(), attr.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// Replaces every intrinsic inside `value` by the string it resolves to.
///
/// # Errors
/// [`IntrinsicError`] for a name the resolver does not know or an intrinsic this module does not support.
pub fn resolve(value: &Value, resolver: &impl Resolve) -> Result<Value, IntrinsicError> {
    if let Some((name, arg)) = split(value) {
        return resolve_function(&name, arg, resolver).map(Value::String);
    }
    Ok(match value {
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|v| resolve(v, resolver)).collect::<Result<_, _>>()?)
        }
        Value::Mapping(map) => {
            let mut out = Mapping::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve(v, resolver)?);
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    })
}

/// A string from an intrinsic or a plain scalar.
///
/// # Errors
/// As [`resolve`], or when the value is a list or map.
pub fn resolve_string(value: &Value, resolver: &impl Resolve) -> Result<String, IntrinsicError> {
    match resolve(value, resolver)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(IntrinsicError::Unsupported(format!(
            "{other:?} where a string was expected"
        ))),
    }
}

/// `(function name without "Fn::" or "!", argument)` if `value` is an intrinsic.
fn split(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((tagged.tag.to_string().trim_start_matches('!').to_owned(), &tagged.value)),
        Value::Mapping(map) if map.len() == 1 => {
            let (Value::String(key), arg) = map.iter().next()? else {
                return None;
            };
            let name = key
                .strip_prefix("Fn::")
                .or(Some(key.as_str()).filter(|k| *k == "Ref"))?;
            Some((name.to_owned(), arg))
        }
        _ => None,
    }
}

fn resolve_function(name: &str, arg: &Value, resolver: &impl Resolve) -> Result<String, IntrinsicError> {
    if let ("Sub", Value::String(text)) = (name, arg) {
        return substitute(text, resolver);
    }
    match reference_of(name, arg) {
        Some(Reference::Ref(id)) => resolver.reference(&id).ok_or(IntrinsicError::Unresolved(id)),
        Some(Reference::GetAtt(id, attr)) => resolver
            .attribute(&id, &attr)
            .ok_or_else(|| IntrinsicError::Unresolved(format!("{id}.{attr}"))),
        None => Err(IntrinsicError::Unsupported(format!("Fn::{name}"))),
    }
}

/// `Fn::Sub` with `${Name}` and `${Logical.Attr}`; `${!Literal}` stays literal.
fn substitute(text: &str, resolver: &impl Resolve) -> Result<String, IntrinsicError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| IntrinsicError::Unsupported(format!("unclosed ${{ in {text}")))?;
        let name = &after[..end];
        let value = match (name.strip_prefix('!'), name.split_once('.')) {
            (Some(literal), _) => format!("${{{literal}}}"),
            (None, Some((id, attr))) if !name.starts_with("AWS::") => resolver
                .attribute(id, attr)
                .ok_or_else(|| IntrinsicError::Unresolved(name.to_owned()))?,
            _ => resolver
                .reference(name)
                .ok_or_else(|| IntrinsicError::Unresolved(name.to_owned()))?,
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Resolve for Fixed {
        fn reference(&self, name: &str) -> Option<String> {
            match name {
                "Queue" => Some("http://127.0.0.1:5000/123/q".into()),
                "AWS::Region" => Some("us-east-1".into()),
                _ => None,
            }
        }
        fn attribute(&self, id: &str, attr: &str) -> Option<String> {
            (id == "Queue" && attr == "Arn").then(|| "arn:aws:sqs:us-east-1:123:q".into())
        }
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn short_and_long_forms_resolve_alike() {
        for text in ["!Ref Queue", "{Ref: Queue}"] {
            assert_eq!(
                resolve_string(&yaml(text), &Fixed).unwrap(),
                "http://127.0.0.1:5000/123/q"
            );
        }
        for text in ["!GetAtt Queue.Arn", "{'Fn::GetAtt': [Queue, Arn]}"] {
            assert_eq!(
                resolve_string(&yaml(text), &Fixed).unwrap(),
                "arn:aws:sqs:us-east-1:123:q"
            );
        }
    }

    #[test]
    fn sub_replaces_refs_attributes_and_keeps_literals() {
        let v = yaml(r#"!Sub "${Queue.Arn} in ${AWS::Region} ${!Literal}""#);
        assert_eq!(
            resolve_string(&v, &Fixed).unwrap(),
            "arn:aws:sqs:us-east-1:123:q in us-east-1 ${Literal}"
        );
    }

    #[test]
    fn unknown_references_are_errors_not_blanks() {
        assert_eq!(
            resolve(&yaml("!Ref Nope"), &Fixed),
            Err(IntrinsicError::Unresolved("Nope".into()))
        );
    }

    #[test]
    fn nested_values_are_resolved_in_place() {
        let v = resolve(
            &yaml("{deadLetterTargetArn: !GetAtt Queue.Arn, maxReceiveCount: 3}"),
            &Fixed,
        )
        .unwrap();
        assert_eq!(v["deadLetterTargetArn"], Value::from("arn:aws:sqs:us-east-1:123:q"));
        assert_eq!(v["maxReceiveCount"], Value::from(3));
    }
}
