//! A pipeline's definition as a caller sends it, checked: named stages of the six types, and the
//! dependencies between them, given by stage index (as in the brief) or by stage name, without a
//! cycle. The first wrong item is named.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{invalid, PipelineError};

/// The stage types a pipeline may hold.
pub const STAGE_TYPES: [&str; 6] = [
    "data-ingestion",
    "transformation",
    "analysis",
    "validation",
    "processing",
    "output",
];
/// Stages a pipeline holds at most.
pub const MAX_STAGES: usize = 20;
/// The longest a stage may run before it times out: a day.
pub const MAX_STAGE_TIMEOUT_SECS: u64 = 86_400;
/// A stage's heartbeat when the definition names none.
pub const DEFAULT_HEARTBEAT_SECS: u64 = 60;
/// Retries of a failed stage at most.
pub const MAX_RETRIES: u64 = 5;
/// The longest pipeline or stage name.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    #[serde(rename = "type")]
    pub stage_type: String,
    /// A stage that is not required may fail without failing the pipeline.
    pub required: bool,
    pub timeout: u64,
    /// Seconds an attempt may go without a heartbeat (its agent's progress report, or the dispatcher's
    /// while no agent has claimed it) before it times out: less than `timeout`; by default the
    /// smaller of `timeout - 1` and [`DEFAULT_HEARTBEAT_SECS`].
    #[serde(default)]
    pub heartbeat: u64,
    pub retry_count: u64,
    /// The indexes of the stages it waits for.
    pub depends_on: Vec<usize>,
}

/// A checked definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub description: String,
    pub stages: Vec<Stage>,
    /// The dependencies as `{from, to}` stage indexes, each once, in the order given.
    pub dependencies: Vec<Edge>,
}

/// `from` must finish before `to` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, PipelineError> {
    value.as_object().ok_or_else(|| invalid(field, "must be a JSON object"))
}

fn known(obj: &Map<String, Value>, fields: &[&str], prefix: &str) -> Result<(), PipelineError> {
    match obj.keys().find(|k| !fields.contains(&k.as_str())) {
        Some(k) => Err(invalid(
            &format!("{prefix}{k}"),
            format!("unknown field; expected one of {}", fields.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A name: 1 to [`MAX_NAME_CHARS`] letters, digits, `_`, `-` or `.`.
fn name(value: Option<&Value>, field: &str) -> Result<String, PipelineError> {
    match value.and_then(Value::as_str) {
        Some(s)
            if (1..=MAX_NAME_CHARS).contains(&s.chars().count())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) =>
        {
            Ok(s.to_owned())
        }
        _ => Err(invalid(
            field,
            format!("must be 1 to {MAX_NAME_CHARS} letters, digits, _, - or ."),
        )),
    }
}

fn count(
    value: Option<&Value>,
    field: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, PipelineError> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| range.contains(n)).ok_or_else(|| {
            invalid(
                field,
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            )
        }),
    }
}

/// Checks a `POST /pipelines` body.
///
/// # Errors
/// [`PipelineError::Invalid`] naming the first wrong field, a stage named twice, a dependency on a
/// stage that does not exist, or the stages of a cycle.
pub fn parse(body: &Value) -> Result<Definition, PipelineError> {
    let obj = object(body, "body")?;
    known(obj, &["name", "description", "stages", "dependencies"], "")?;
    let pipeline_name = name(obj.get("name"), "name")?;
    let description = match obj.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.chars().count() <= MAX_DESCRIPTION_CHARS => s.clone(),
        Some(_) => {
            return Err(invalid(
                "description",
                format!("must be a string of at most {MAX_DESCRIPTION_CHARS} characters"),
            ))
        }
    };
    let list = match obj.get("stages") {
        Some(Value::Array(list)) if (1..=MAX_STAGES).contains(&list.len()) => list,
        _ => return Err(invalid("stages", format!("must be a list of 1 to {MAX_STAGES} stages"))),
    };
    let mut stages: Vec<Stage> = Vec::new();
    for (i, value) in list.iter().enumerate() {
        let at = format!("stages[{i}]");
        let s = object(value, &at)?;
        known(
            s,
            &["name", "type", "required", "timeout", "heartbeat", "retry_count"],
            &format!("{at}."),
        )?;
        let stage_name = name(s.get("name"), &format!("{at}.name"))?;
        if stages.iter().any(|other| other.name == stage_name) {
            return Err(invalid(
                &format!("{at}.name"),
                format!("{stage_name:?} names an earlier stage too"),
            ));
        }
        let stage_type = s
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| STAGE_TYPES.contains(t))
            .ok_or_else(|| {
                invalid(
                    &format!("{at}.type"),
                    format!("must be one of {}", STAGE_TYPES.join(", ")),
                )
            })?
            .to_owned();
        let required = match s.get("required") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid(&format!("{at}.required"), "must be true or false")),
        };
        let timeout = count(
            s.get("timeout"),
            &format!("{at}.timeout"),
            300,
            2..=MAX_STAGE_TIMEOUT_SECS,
        )?;
        stages.push(Stage {
            name: stage_name,
            stage_type,
            required,
            timeout,
            // Step Functions wants a heartbeat shorter than the timeout.
            heartbeat: count(
                s.get("heartbeat"),
                &format!("{at}.heartbeat"),
                (timeout - 1).min(DEFAULT_HEARTBEAT_SECS),
                1..=timeout - 1,
            )?,
            retry_count: count(s.get("retry_count"), &format!("{at}.retry_count"), 0, 0..=MAX_RETRIES)?,
            depends_on: Vec::new(),
        });
    }
    let dependencies = edges(obj.get("dependencies"), &stages)?;
    for edge in &dependencies {
        stages[edge.to].depends_on.push(edge.from);
    }
    if let Some(cycle) = cycle(&stages) {
        let names: Vec<&str> = cycle.iter().map(|&i| stages[i].name.as_str()).collect();
        return Err(invalid(
            "dependencies",
            format!("they make a cycle: {}", names.join(" → ")),
        ));
    }
    Ok(Definition {
        name: pipeline_name,
        description,
        stages,
        dependencies,
    })
}

/// The stage an end of a dependency names: its index, or its name.
fn stage_of(value: Option<&Value>, stages: &[Stage], field: &str) -> Result<usize, PipelineError> {
    let found = match value {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < stages.len()),
        Some(Value::String(s)) => stages.iter().position(|stage| &stage.name == s),
        _ => None,
    };
    found.ok_or_else(|| {
        let sent = value.map_or_else(|| "nothing".to_owned(), Value::to_string);
        invalid(
            field,
            format!(
                "no stage {sent}: name a stage by its index (0 to {}) or its name",
                stages.len() - 1
            ),
        )
    })
}

fn edges(value: Option<&Value>, stages: &[Stage]) -> Result<Vec<Edge>, PipelineError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("dependencies", "must be a list of {from, to}")),
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (i, value) in list.iter().enumerate() {
        let at = format!("dependencies[{i}]");
        let d = object(value, &at)?;
        known(d, &["from", "to"], &format!("{at}."))?;
        let edge = Edge {
            from: stage_of(d.get("from"), stages, &format!("{at}.from"))?,
            to: stage_of(d.get("to"), stages, &format!("{at}.to"))?,
        };
        if edge.from == edge.to {
            return Err(invalid(
                &at,
                format!("stage {:?} cannot wait for itself", stages[edge.from].name),
            ));
        }
        if seen.insert(edge) {
            out.push(edge);
        }
    }
    Ok(out)
}

/// The stages of a cycle, first stage repeated at the end, if the dependencies hold one.
fn cycle(stages: &[Stage]) -> Option<Vec<usize>> {
    // 0: not seen, 1: on the current path, 2: done.
    fn visit(i: usize, stages: &[Stage], state: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for &before in &stages[i].depends_on {
            match state[before] {
                1 => {
                    // The path runs against the dependencies (each stage to one it waits for):
                    // reversed, it is the order the stages would run in, back to where it began.
                    let start = path.iter().position(|&p| p == before).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[start..].iter().rev().copied().collect();
                    // Told from its first stage, whatever order the search met it in.
                    let first = cycle.iter().enumerate().min_by_key(|(_, &s)| s).map_or(0, |(at, _)| at);
                    cycle.rotate_left(first);
                    cycle.push(cycle[0]);
                    return Some(cycle);
                }
                0 => {
                    if let Some(found) = visit(before, stages, state, path) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    let mut state = vec![0u8; stages.len()];
    (0..stages.len()).find_map(|i| {
        (state[i] == 0)
            .then(|| visit(i, stages, &mut state, &mut Vec::new()))
            .flatten()
    })
}
