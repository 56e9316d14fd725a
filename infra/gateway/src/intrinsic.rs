//! CloudFormation intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Split`, `Fn::If` with
//! `AWS::NoValue`, and the condition functions `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
//! `Condition`) in both the short (`!Ref X`) and long (`{Ref: X}`) forms, resolved against local
//! physical ids.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

/// Looks up what an intrinsic refers to.
pub trait Resolve {
    /// `Ref`: a parameter's value, a pseudo parameter, or a resource's physical id.
    fn reference(&self, name: &str) -> Option<String>;
    /// `Fn::GetAtt`: a resource attribute.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
    /// A condition of the template's `Conditions`, unevaluated (for `Fn::If` and `Condition`).
    fn condition(&self, _name: &str) -> Option<&Value> {
        None
    }
}

/// Resolves parameters and conditions alone: enough for a property that names no resource.
#[derive(Debug, Clone, Copy)]
pub struct Parameters<'a> {
    /// Every parameter's value (defaults with overrides applied).
    pub values: &'a BTreeMap<String, String>,
    /// The template's `Conditions`.
    pub conditions: &'a Mapping,
}

impl Resolve for Parameters<'_> {
    fn reference(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }
    fn attribute(&self, _logical_id: &str, _attribute: &str) -> Option<String> {
        None
    }
    fn condition(&self, name: &str) -> Option<&Value> {
        self.conditions.get(name)
    }
}

/// How deep conditions may refer to conditions: past it, a condition refers to itself.
const MAX_CONDITION_DEPTH: usize = 32;

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

/// Replaces every intrinsic inside `value` by what it resolves to; a key or list item that resolves
/// to `AWS::NoValue` is removed, and `value` itself resolving to it gives `Null`.
///
/// # Errors
/// [`IntrinsicError`] for a name the resolver does not know or an intrinsic this module does not support.
pub fn resolve(value: &Value, resolver: &impl Resolve) -> Result<Value, IntrinsicError> {
    Ok(resolve_present(value, resolver)?.unwrap_or(Value::Null))
}

/// [`resolve`], with `None` for `AWS::NoValue`.
fn resolve_present(value: &Value, resolver: &impl Resolve) -> Result<Option<Value>, IntrinsicError> {
    if let Some((name, arg)) = split(value) {
        return resolve_function(&name, arg, resolver);
    }
    Ok(Some(match value {
        Value::Sequence(items) => Value::Sequence(
            items
                .iter()
                .filter_map(|v| resolve_present(v, resolver).transpose())
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(map) => {
            let mut out = Mapping::new();
            for (k, v) in map {
                if let Some(v) = resolve_present(v, resolver)? {
                    out.insert(k.clone(), v);
                }
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    }))
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

fn resolve_function(name: &str, arg: &Value, resolver: &impl Resolve) -> Result<Option<Value>, IntrinsicError> {
    let text = match (name, arg) {
        ("Ref", Value::String(id)) if id == "AWS::NoValue" => return Ok(None),
        ("If", Value::Sequence(args)) => return choose(args, resolver),
        ("Split", Value::Sequence(args)) => return split_text(args, resolver).map(Some),
        ("Sub", Value::String(text)) => substitute(text, resolver)?,
        _ => match reference_of(name, arg) {
            Some(Reference::Ref(id)) => resolver.reference(&id).ok_or(IntrinsicError::Unresolved(id))?,
            Some(Reference::GetAtt(id, attr)) => resolver
                .attribute(&id, &attr)
                .ok_or_else(|| IntrinsicError::Unresolved(format!("{id}.{attr}")))?,
            None => return Err(IntrinsicError::Unsupported(format!("Fn::{name}"))),
        },
    };
    Ok(Some(Value::String(text)))
}

/// `Fn::If: [Condition, IfTrue, IfFalse]`: the branch the named condition picks, resolved.
fn choose(args: &[Value], resolver: &impl Resolve) -> Result<Option<Value>, IntrinsicError> {
    let [Value::String(name), if_true, if_false] = args else {
        return Err(IntrinsicError::Unsupported(
            "Fn::If other than [Condition, IfTrue, IfFalse]".into(),
        ));
    };
    let branch = if named_condition(name, resolver, 0)? {
        if_true
    } else {
        if_false
    };
    resolve_present(branch, resolver)
}

/// `Fn::Split: [Delimiter, Source]`: the source string's pieces.
fn split_text(args: &[Value], resolver: &impl Resolve) -> Result<Value, IntrinsicError> {
    let [Value::String(delimiter), source] = args else {
        return Err(IntrinsicError::Unsupported(
            "Fn::Split other than [Delimiter, Source]".into(),
        ));
    };
    let source = resolve_string(source, resolver)?;
    Ok(Value::Sequence(
        source.split(delimiter.as_str()).map(Value::from).collect(),
    ))
}

/// Evaluates a condition: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, or `Condition` naming
/// another one of the template's `Conditions`.
///
/// # Errors
/// [`IntrinsicError`] for an unknown condition or value, a function that is not a condition
/// function, or a condition that refers to itself.
pub fn evaluate(condition: &Value, resolver: &impl Resolve) -> Result<bool, IntrinsicError> {
    evaluate_at(condition, resolver, 0)
}

fn evaluate_at(condition: &Value, resolver: &impl Resolve, depth: usize) -> Result<bool, IntrinsicError> {
    let (name, arg) = condition_parts(condition)
        .ok_or_else(|| IntrinsicError::Unsupported(format!("{condition:?} where a condition was expected")))?;
    let each = |args: &[Value]| -> Result<Vec<bool>, IntrinsicError> {
        args.iter().map(|c| evaluate_at(c, resolver, depth)).collect()
    };
    match (name.as_str(), arg) {
        ("Condition", Value::String(other)) => named_condition(other, resolver, depth + 1),
        ("Equals", Value::Sequence(pair)) if pair.len() == 2 => {
            Ok(resolve_string(&pair[0], resolver)? == resolve_string(&pair[1], resolver)?)
        }
        ("Not", Value::Sequence(one)) if one.len() == 1 => Ok(!evaluate_at(&one[0], resolver, depth)?),
        ("And", Value::Sequence(all)) => Ok(each(all)?.into_iter().all(|b| b)),
        ("Or", Value::Sequence(any)) => Ok(each(any)?.into_iter().any(|b| b)),
        _ => Err(IntrinsicError::Unsupported(format!("Fn::{name} as a condition"))),
    }
}

/// A condition function's name and argument; `{Condition: X}` is one too.
fn condition_parts(condition: &Value) -> Option<(String, &Value)> {
    if let Value::Mapping(map) = condition {
        if let Some(name) = map.get("Condition").filter(|_| map.len() == 1) {
            return Some(("Condition".to_owned(), name));
        }
    }
    split(condition)
}

fn named_condition(name: &str, resolver: &impl Resolve, depth: usize) -> Result<bool, IntrinsicError> {
    if depth > MAX_CONDITION_DEPTH {
        return Err(IntrinsicError::Unsupported(format!(
            "condition {name} refers to itself"
        )));
    }
    let condition = resolver
        .condition(name)
        .ok_or_else(|| IntrinsicError::Unresolved(format!("condition {name}")))?;
    evaluate_at(condition, resolver, depth)
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
mod tests;
