//! Reads `template.yaml`: the functions with their HTTP routes and SQS triggers, and the resources
//! (tables, queues, state machines) the local stack creates. The template is the one source of truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::intrinsic::{reference, Reference};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The directory the template sits in: `DefinitionUri` and `CodeUri` are relative to it.
    pub dir: PathBuf,
    /// Parameter defaults.
    pub parameters: BTreeMap<String, Value>,
    /// `Conditions`, unevaluated.
    pub conditions: Mapping,
    /// `Globals.Function.Environment.Variables`, unresolved.
    pub globals_env: Mapping,
    /// `Globals.Function.Timeout`, unresolved.
    pub globals_timeout: Option<Value>,
    /// Resources in template order.
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

/// A function and what triggers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The bin name: `Metadata.BuildProperties.Binary`, the name `cargo lambda watch` serves it under.
    pub binary: String,
    pub http_routes: Vec<HttpRoute>,
    pub sqs_triggers: Vec<SqsTrigger>,
    /// Its `Schedule` events that run at a fixed rate.
    pub schedules: Vec<Schedule>,
}

/// A `Schedule` event: EventBridge invokes the function every `every`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The event's name in the template, for the scheduled event's rule ARN.
    pub name: String,
    pub every: std::time::Duration,
}

/// `Method` + `Path` of an `HttpApi` event; `$default` when both are absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
    /// The event's `Auth.Authorizer`: a name, `NONE`, or absent for the API's default.
    pub authorizer: Option<String>,
}

impl HttpRoute {
    /// API Gateway's route key: `GET /items/{id}` or `$default`.
    #[must_use]
    pub fn route_key(&self) -> String {
        if self.path == "$default" {
            "$default".to_owned()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

/// An `SQS` event source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsTrigger {
    pub queue_logical_id: String,
    pub batch_size: u16,
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: concurrent batches of this source (AWS: 2–1000).
    pub maximum_concurrency: Option<u16>,
    /// `MaximumBatchingWindowInSeconds`: how long to gather a batch (standard queues only).
    pub batching_window_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not valid YAML: {source}")]
    Yaml { path: String, source: serde_yaml::Error },
    #[error("{0}")]
    Invalid(String),
}

impl Template {
    /// Loads and parses a template file.
    ///
    /// # Errors
    /// [`TemplateError`] when the file cannot be read or is not a template.
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: shown.clone(),
            source,
        })?;
        let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::parse(&text, dir).map_err(|e| match e {
            TemplateError::Invalid(m) => TemplateError::Invalid(format!("{shown}: {m}")),
            TemplateError::Yaml { source, .. } => TemplateError::Yaml { path: shown, source },
            other => other,
        })
    }

    /// Parses template text.
    ///
    /// # Errors
    /// [`TemplateError`] when the text is not YAML or has no `Resources`.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml::from_str(text).map_err(|source| TemplateError::Yaml {
            path: String::new(),
            source,
        })?;
        let Some(Value::Mapping(resources)) = doc.get("Resources") else {
            return Err(TemplateError::Invalid("no Resources section".into()));
        };
        let resources = resources
            .iter()
            .map(|(id, body)| resource(id, body))
            .collect::<Result<Vec<_>, TemplateError>>()?;
        Ok(Self {
            dir,
            parameters: parameter_defaults(&doc),
            conditions: doc
                .get("Conditions")
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default(),
            globals_env: globals_env(&doc),
            globals_timeout: doc
                .get("Globals")
                .and_then(|g| g.get("Function")?.get("Timeout"))
                .cloned(),
            resources,
        })
    }

    /// A function's `Timeout` in seconds (else `Globals.Function.Timeout`, else Lambda's 3), a
    /// `!Ref` resolved from `parameters` or the parameter's default.
    #[must_use]
    pub fn function_timeout(&self, logical_id: &str, parameters: &BTreeMap<String, String>) -> u64 {
        let own = self
            .resources
            .iter()
            .find(|r| r.logical_id == logical_id)
            .and_then(|r| r.properties.get("Timeout"));
        own.or(self.globals_timeout.as_ref())
            .and_then(|v| self.number(v, parameters))
            .unwrap_or(3)
    }

    /// A number, or a `!Ref` to a parameter holding one.
    fn number(&self, value: &Value, parameters: &BTreeMap<String, String>) -> Option<u64> {
        match reference(value) {
            Some(Reference::Ref(name)) => parameters
                .get(&name)
                .and_then(|v| v.parse().ok())
                .or_else(|| self.parameters.get(&name).and_then(Value::as_u64)),
            _ => value.as_u64(),
        }
    }

    /// Resources of one CloudFormation or SAM type.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// Every `AWS::Serverless::Function` with its triggers.
    ///
    /// # Errors
    /// [`TemplateError::Invalid`] for an SQS event whose `Queue` is not a `!GetAtt X.Arn`.
    pub fn functions(&self) -> Result<Vec<FunctionDef>, TemplateError> {
        self.of_type("AWS::Serverless::Function").map(function_def).collect()
    }

    /// Every function with a `FunctionUrlConfig`, at the path of the route its `Metadata.UrlRoute` names.
    ///
    /// # Errors
    /// [`TemplateError::Invalid`] for a function URL without a `Metadata.UrlRoute` (`POST /path`).
    pub fn function_urls(&self) -> Result<Vec<FunctionUrl>, TemplateError> {
        let mut urls = Vec::new();
        for resource in self.of_type("AWS::Serverless::Function") {
            let Some(config) = resource.properties.get("FunctionUrlConfig") else {
                continue;
            };
            let route = resource.metadata.get("UrlRoute").and_then(Value::as_str);
            let path = route.and_then(|r| r.split_once(' ')).map(|(_, path)| path);
            let path = path.filter(|p| p.starts_with('/')).ok_or_else(|| {
                TemplateError::Invalid(format!(
                    "{} has a FunctionUrlConfig but no Metadata.UrlRoute (\"POST /path\": the route it answers)",
                    resource.logical_id
                ))
            })?;
            urls.push(FunctionUrl {
                binary: binary_name(resource)?.to_owned(),
                path: path.to_owned(),
                streaming: config.get("InvokeMode").and_then(Value::as_str) == Some("RESPONSE_STREAM"),
            });
        }
        Ok(urls)
    }
}

/// A function URL, served locally at a path of the HTTP API's port (on AWS it has a domain of its own,
/// where the function answers that path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionUrl {
    pub binary: String,
    pub path: String,
    /// `InvokeMode: RESPONSE_STREAM`: the caller gets the body as the function writes it.
    pub streaming: bool,
}

fn resource(id: &Value, body: &Value) -> Result<Resource, TemplateError> {
    let logical_id = id
        .as_str()
        .ok_or_else(|| TemplateError::Invalid(format!("resource id {id:?}")))?;
    let kind = body.get("Type").and_then(Value::as_str);
    let kind = kind.ok_or_else(|| TemplateError::Invalid(format!("{logical_id} has no Type")))?;
    Ok(Resource {
        logical_id: logical_id.to_owned(),
        kind: kind.to_owned(),
        properties: body.get("Properties").cloned().unwrap_or(Value::Null),
        metadata: body.get("Metadata").cloned().unwrap_or(Value::Null),
    })
}

fn parameter_defaults(doc: &Value) -> BTreeMap<String, Value> {
    doc.get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.get("Default")?.clone())))
        .collect()
}

fn globals_env(doc: &Value) -> Mapping {
    doc.get("Globals")
        .and_then(|g| {
            g.get("Function")?
                .get("Environment")?
                .get("Variables")?
                .as_mapping()
                .cloned()
        })
        .unwrap_or_default()
}

fn function_def(resource: &Resource) -> Result<FunctionDef, TemplateError> {
    let mut def = FunctionDef {
        logical_id: resource.logical_id.clone(),
        binary: binary_name(resource)?.to_owned(),
        http_routes: Vec::new(),
        sqs_triggers: Vec::new(),
        schedules: Vec::new(),
    };
    let events = resource
        .properties
        .get("Events")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten();
    for (name, event) in events {
        let props = event.get("Properties").unwrap_or(&Value::Null);
        match event.get("Type").and_then(Value::as_str) {
            Some("HttpApi") => def.http_routes.push(http_route(props)),
            Some("SQS") => def.sqs_triggers.push(sqs_trigger(&resource.logical_id, name, props)?),
            Some("Schedule") if props.get("Enabled").and_then(Value::as_bool) != Some(false) => {
                def.schedules.push(schedule(&resource.logical_id, name, props)?);
            }
            _ => {}
        }
    }
    Ok(def)
}

fn binary_name(resource: &Resource) -> Result<&str, TemplateError> {
    resource
        .metadata
        .get("BuildProperties")
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            TemplateError::Invalid(format!(
                "{} has no Metadata.BuildProperties.Binary",
                resource.logical_id
            ))
        })
}

fn http_route(props: &Value) -> HttpRoute {
    HttpRoute {
        method: props
            .get("Method")
            .and_then(Value::as_str)
            .unwrap_or("ANY")
            .to_ascii_uppercase(),
        path: props
            .get("Path")
            .and_then(Value::as_str)
            .unwrap_or("$default")
            .to_owned(),
        authorizer: props
            .get("Auth")
            .and_then(|a| a.get("Authorizer"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

fn sqs_trigger(function: &str, name: &Value, props: &Value) -> Result<SqsTrigger, TemplateError> {
    let queue = props.get("Queue").and_then(reference);
    let Some(Reference::GetAtt(queue_logical_id, _)) = queue else {
        return Err(TemplateError::Invalid(format!(
            "{function} event {name:?}: Queue must be !GetAtt <Queue>.Arn"
        )));
    };
    let batch_size = props.get("BatchSize").and_then(Value::as_u64).unwrap_or(10);
    let reports = props
        .get("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten();
    let concurrency = props.get("ScalingConfig").and_then(|s| s.get("MaximumConcurrency"));
    Ok(SqsTrigger {
        queue_logical_id,
        batch_size: u16::try_from(batch_size.clamp(1, 10_000)).unwrap_or(10),
        maximum_concurrency: concurrency.and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok()),
        batching_window_secs: props
            .get("MaximumBatchingWindowInSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        report_batch_item_failures: reports
            .filter_map(Value::as_str)
            .any(|t| t == "ReportBatchItemFailures"),
    })
}

/// A `Schedule` event's `rate(N unit)` (N ≥ 1); a `cron(…)` expression is not run locally: the
/// template is refused, saying so, rather than served without it.
fn schedule(function: &str, name: &Value, props: &Value) -> Result<Schedule, TemplateError> {
    let expression = props.get("Schedule").and_then(Value::as_str).unwrap_or_default();
    let invalid = || {
        TemplateError::Invalid(format!(
            "{function} event {name:?}: Schedule {expression:?} is not rate(N unit)"
        ))
    };
    let rate = expression.strip_prefix("rate(").and_then(|r| r.strip_suffix(')'));
    let (count, unit) = rate.and_then(|r| r.trim().split_once(' ')).ok_or_else(invalid)?;
    let count: u64 = count.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
    let secs = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return Err(invalid()),
    };
    Ok(Schedule {
        name: name.as_str().unwrap_or_default().to_owned(),
        every: std::time::Duration::from_secs(count * secs),
    })
}

#[cfg(test)]
mod tests;
