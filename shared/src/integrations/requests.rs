//! What a caller sends: an integration's document, checked field by field, the first wrong one named.
//! A credential's value anywhere in it is refused first, and no message repeats a value the caller
//! sent.

use serde_json::{Map, Value};

use super::credentials::raw_credential;
use super::{invalid, CredentialRef, IntegrationError, ModelConfig, Parameters, Spec};
use crate::ids::IdKind;
use crate::models::{ModelCatalog, ProviderKind};
use crate::registered::Kind;

/// The longest name.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The longest provider model name.
pub const MAX_PROVIDER_MODEL_CHARS: usize = 256;
/// Names an integration may list of each kind (tools, resources, prompts).
pub const MAX_ITEMS_PER_KIND: usize = 64;
/// The largest `max_tokens`.
pub const MAX_TOKENS: u32 = 1_000_000;
/// Stop sequences at most, and the longest.
pub const MAX_STOP: usize = 4;
pub const MAX_STOP_CHARS: usize = 64;
/// Where a referenced Secrets Manager secret's name must start: the functions may read only those
/// (`template.yaml` grants `secret:mcpflow/*`).
pub const SECRET_PREFIX: &str = "mcpflow/";
/// The longest secret ARN.
pub const MAX_ARN_BYTES: usize = 2048;

/// Fields of a document that only the service writes; a replace may send them back as `GET` gave them.
pub const READ_ONLY: [&str; 6] = [
    "integration_id",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
];

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, IntegrationError> {
    value.as_object().ok_or_else(|| invalid(field, "must be a JSON object"))
}

fn known(obj: &Map<String, Value>, fields: &[&str], prefix: &str) -> Result<(), IntegrationError> {
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            &format!("{prefix}{k}"),
            format!("unknown field; expected one of {}", fields.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A string of 1 to `max` characters, not blank, without control characters.
fn text(value: Option<&Value>, field: &str, max: usize) -> Result<String, IntegrationError> {
    match value.and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control) => {
            Ok(s.to_owned())
        }
        _ => Err(invalid(field, format!("must be a string of 1 to {max} characters"))),
    }
}

/// A number in `range`, when given.
fn number(
    obj: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, IntegrationError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().filter(|x| range.contains(x)).map(Some).ok_or_else(|| {
            invalid(
                &format!("model.parameters.{name}"),
                format!("must be a number from {} to {}", range.start(), range.end()),
            )
        }),
    }
}

fn parameters(value: Option<&Value>) -> Result<Parameters, IntegrationError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Parameters::default());
    };
    let obj = object(value, "model.parameters")?;
    known(
        obj,
        &["temperature", "max_tokens", "top_p", "stop"],
        "model.parameters.",
    )?;
    let max_tokens = match obj.get("max_tokens") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_TOKENS).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "model.parameters.max_tokens",
                        format!("must be a whole number from 1 to {MAX_TOKENS}"),
                    )
                })?,
        ),
    };
    let stop = match obj.get("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() <= MAX_STOP => list
            .iter()
            .enumerate()
            .map(|(i, s)| match s.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= MAX_STOP_CHARS => Ok(s.to_owned()),
                _ => Err(invalid(
                    &format!("model.parameters.stop[{i}]"),
                    format!("must be a string of 1 to {MAX_STOP_CHARS} characters"),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "model.parameters.stop",
                format!("must be a list of at most {MAX_STOP} strings"),
            ))
        }
    };
    Ok(Parameters {
        temperature: number(obj, "temperature", 0.0..=2.0)?,
        max_tokens,
        top_p: number(obj, "top_p", 0.0..=1.0)?,
        stop,
    })
}

/// `arn:<partition>:secretsmanager:<region>:<12-digit account>:secret:mcpflow/…`.
fn secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [arn_, partition, service, region, account, resource, name] = parts.as_slice() else {
        return false;
    };
    arn.len() <= MAX_ARN_BYTES
        && *arn_ == "arn"
        && partition.starts_with("aws")
        && *service == "secretsmanager"
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && *resource == "secret"
        && name.len() > SECRET_PREFIX.len()
        && name.starts_with(SECRET_PREFIX)
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn credential(
    value: Option<&Value>,
    provider: &crate::models::Provider,
    catalog: &ModelCatalog,
) -> Result<Option<CredentialRef>, IntegrationError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let field = "model.credential";
    match provider.kind {
        ProviderKind::Local => return Err(invalid(field, format!("provider {} needs no credential", provider.id))),
        ProviderKind::Bedrock => {
            return Err(invalid(
                field,
                format!(
                    "provider {} is called with the function's IAM role, not a credential",
                    provider.id
                ),
            ))
        }
        ProviderKind::OpenaiCompatible | ProviderKind::Anthropic => {}
    }
    let obj = object(value, field)?;
    known(obj, &["env", "secret_arn"], "model.credential.")?;
    let envs: Vec<&str> = catalog
        .providers
        .iter()
        .filter(|p| matches!(p.kind, ProviderKind::OpenaiCompatible | ProviderKind::Anthropic))
        .filter_map(|p| p.credential_env.as_deref())
        .collect();
    match (obj.get("env"), obj.get("secret_arn")) {
        (Some(env), None) => match env.as_str().filter(|e| envs.contains(e)) {
            Some(e) => Ok(Some(CredentialRef::Env(e.to_owned()))),
            None => Err(invalid(
                "model.credential.env",
                format!(
                    "must name a credential variable the stack sets: one of {}",
                    envs.join(", ")
                ),
            )),
        },
        (None, Some(arn)) => match arn.as_str().filter(|a| secret_arn(a)) {
            Some(a) => Ok(Some(CredentialRef::SecretArn(a.to_owned()))),
            None => Err(invalid(
                "model.credential.secret_arn",
                format!(
                    "must be the ARN of a Secrets Manager secret whose name starts {SECRET_PREFIX} (arn:aws:secretsmanager:<region>:<account>:secret:{SECRET_PREFIX}…)"
                ),
            )),
        },
        _ => Err(invalid(field, "must be {\"env\": …} or {\"secret_arn\": …}, one of them")),
    }
}

fn model(value: Option<&Value>, catalog: &ModelCatalog) -> Result<ModelConfig, IntegrationError> {
    let obj = object(value.unwrap_or(&Value::Null), "model")?;
    known(
        obj,
        &["provider", "provider_model", "parameters", "credential"],
        "model.",
    )?;
    let providers: Vec<&str> = catalog.providers.iter().map(|p| p.id.as_str()).collect();
    let provider = obj
        .get("provider")
        .and_then(Value::as_str)
        .and_then(|id| catalog.providers.iter().find(|p| p.id == id))
        .ok_or_else(|| {
            invalid(
                "model.provider",
                format!(
                    "must be a provider of the model catalog: one of {}",
                    providers.join(", ")
                ),
            )
        })?;
    Ok(ModelConfig {
        provider: provider.id.clone(),
        provider_model: text(
            obj.get("provider_model"),
            "model.provider_model",
            MAX_PROVIDER_MODEL_CHARS,
        )?,
        parameters: for_provider(parameters(obj.get("parameters"))?, provider)?,
        credential: credential(obj.get("credential"), provider, catalog)?,
    })
}

/// The parameters, when `provider` takes them: Anthropic's `temperature` is 0 to 1.
fn for_provider(parameters: Parameters, provider: &crate::models::Provider) -> Result<Parameters, IntegrationError> {
    if provider.kind == ProviderKind::Anthropic && parameters.temperature.is_some_and(|t| t > 1.0) {
        return Err(invalid(
            "model.parameters.temperature",
            format!("must be 0 to 1 for provider {} (Anthropic)", provider.id),
        ));
    }
    Ok(parameters)
}

/// The names of registered items of `kind`: a list of at most [`MAX_ITEMS_PER_KIND`], each in its
/// kind's format, duplicates dropped.
fn names(value: Option<&Value>, field: &str, kind: Kind) -> Result<Vec<String>, IntegrationError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) if list.len() <= MAX_ITEMS_PER_KIND => list,
        Some(_) => {
            return Err(invalid(
                field,
                format!("must be a list of at most {MAX_ITEMS_PER_KIND} names"),
            ))
        }
    };
    let id = IdKind::Registered(kind);
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let name = v
            .as_str()
            .filter(|s| id.matches(s))
            .ok_or_else(|| invalid(&format!("{field}[{i}]"), id.shape()))?;
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    Ok(out)
}

/// The document of `POST` (and of `PUT`, without the read-only fields): `name`, optional
/// `description`, `model` (`provider`, `provider_model`, optional `parameters` and `credential`),
/// optional `tools`, `resources` and `prompts`.
///
/// # Errors
/// [`IntegrationError::RawCredential`] for a credential's value anywhere in it; else
/// [`IntegrationError::Invalid`] naming the first wrong field.
pub fn spec(body: &Value, catalog: &ModelCatalog) -> Result<Spec, IntegrationError> {
    if let Some(field) = raw_credential(body, "") {
        return Err(IntegrationError::RawCredential { field });
    }
    let obj = object(body, "body")?;
    known(
        obj,
        &["name", "description", "model", "tools", "resources", "prompts"],
        "",
    )?;
    let description = match obj.get("description") {
        None | Some(Value::Null) => None,
        v => Some(text(v, "description", MAX_DESCRIPTION_CHARS)?),
    };
    Ok(Spec {
        name: text(obj.get("name"), "name", MAX_NAME_CHARS)?,
        description,
        model: model(obj.get("model"), catalog)?,
        tools: names(obj.get("tools"), "tools", Kind::Tool)?,
        resources: names(obj.get("resources"), "resources", Kind::Resource)?,
        prompts: names(obj.get("prompts"), "prompts", Kind::Prompt)?,
    })
}

/// A replace's body without its read-only fields, and the `version` it names. The
/// `integration_id` it may carry must be the path's.
///
/// # Errors
/// [`IntegrationError::Invalid`]: another integration's id, a `version` that is not a whole number.
pub fn replacement(body: &Value, id: &str) -> Result<(Value, Option<u64>), IntegrationError> {
    let Some(obj) = body.as_object() else {
        return Ok((body.clone(), None));
    };
    if obj.get("integration_id").is_some_and(|v| v.as_str() != Some(id)) {
        return Err(invalid("integration_id", "must be the id in the path, or absent"));
    }
    let version = match obj.get("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid("version", "must be a whole number from 1"))?,
        ),
    };
    let mut rest = obj.clone();
    rest.retain(|k, _| !READ_ONLY.contains(&k.as_str()));
    Ok((Value::Object(rest), version))
}

/// An `If-Match` header: `*`, or one strong entity tag `"<version>"` (as `ETag` gives it).
///
/// # Errors
/// [`IntegrationError::Invalid`] for anything else.
pub fn if_match(header: &str) -> Result<super::Precondition, IntegrationError> {
    let header = header.trim();
    if header == "*" {
        return Ok(super::Precondition::Any);
    }
    header
        .strip_prefix('"')
        .and_then(|h| h.strip_suffix('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n >= 1)
        .map(super::Precondition::Version)
        .ok_or_else(|| invalid("If-Match", "must be * or one entity tag \"<version>\" as ETag gives it"))
}

/// The entity tag of a version, as `ETag` carries it.
#[must_use]
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}
