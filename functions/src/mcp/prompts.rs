//! The built-in prompts: their arguments, checks, and how each renders real data (tasks and
//! counters read from the store) into its message. Rendering is pure; the server reads the data.

use super::views;
use serde_json::{json, Map, Value};
use shared::tasks::model::Task;

/// `(name, description, [(argument, description, required, allowed values)])`.
type Arg = (&'static str, &'static str, bool, &'static [&'static str]);
pub const PROMPTS: [(&str, &str, &[Arg]); 4] = [
    (
        "task_summary",
        "Summarise tasks: by ids, a date range and a status",
        &[
            (
                "task_ids",
                "Comma-separated task ids (default: the newest 20)",
                false,
                &[],
            ),
            (
                "date_range",
                "YYYY-MM-DD..YYYY-MM-DD (created in that range)",
                false,
                &[],
            ),
            (
                "status_filter",
                "Only tasks with this status",
                false,
                &["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"],
            ),
        ],
    ),
    (
        "system_health",
        "Assess mcpflow's health over a period",
        &[
            ("time_period", "hour, day or week", true, &["hour", "day", "week"]),
            (
                "include_performance",
                "true to include processing times",
                false,
                &["true", "false"],
            ),
            (
                "check_resources",
                "true to include model availability",
                false,
                &["true", "false"],
            ),
        ],
    ),
    (
        "task_analysis",
        "Analyse a group of tasks",
        &[
            (
                "task_group",
                "A task type (ai.completion, mcp.add_prompt, …) or a status (COMPLETED, FAILED, …)",
                true,
                &[],
            ),
            (
                "analysis_depth",
                "deep, shallow or overview",
                false,
                &["deep", "shallow", "overview"],
            ),
            (
                "focus_area",
                "performance, errors or usage",
                false,
                &["performance", "errors", "usage"],
            ),
        ],
    ),
    (
        "performance_review",
        "Review processing performance",
        &[
            (
                "review_period",
                "What period the review covers, e.g. 'last week'",
                true,
                &[],
            ),
            (
                "benchmark_type",
                "historical or industry",
                false,
                &["historical", "industry"],
            ),
            (
                "focus_metrics",
                "Comma-separated metrics to focus on (latency, throughput, errors)",
                false,
                &[],
            ),
        ],
    ),
];

/// `prompts/list` entries.
#[must_use]
pub fn list() -> Value {
    let prompts: Vec<Value> = PROMPTS
        .iter()
        .map(|(name, description, args)| {
            let arguments: Vec<Value> = args
                .iter()
                .map(|(n, d, required, _)| json!({"name": n, "description": d, "required": required}))
                .collect();
            json!({"name": name, "description": description, "arguments": arguments})
        })
        .collect();
    json!({"prompts": prompts})
}

/// The values an argument accepts (empty: free text).
#[must_use]
pub fn allowed(prompt: &str, argument: &str) -> &'static [&'static str] {
    PROMPTS
        .iter()
        .filter(|(n, _, _)| *n == prompt)
        .flat_map(|(_, _, args)| args.iter())
        .find(|(a, ..)| *a == argument)
        .map_or(&[], |(.., values)| *values)
}

/// Checks the arguments of `prompt`: known prompt, required ones present, enumerated ones valid,
/// no unknown ones. `Err` is the invalid-params message.
///
/// # Errors
/// A message naming the prompt or argument that is wrong.
pub fn check(prompt: &str, given: &Map<String, Value>) -> Result<(), String> {
    let (_, _, args) = PROMPTS
        .iter()
        .find(|(n, ..)| *n == prompt)
        .ok_or_else(|| format!("unknown prompt {prompt}"))?;
    if let Some(unknown) = given.keys().find(|k| !args.iter().any(|(a, ..)| a == k)) {
        return Err(format!("prompt {prompt} has no argument {unknown}"));
    }
    for (name, _, required, values) in *args {
        match given.get(*name).and_then(Value::as_str) {
            None if *required => return Err(format!("argument {name} is required")),
            Some(v) if !values.is_empty() && !values.contains(&v) => {
                return Err(format!("argument {name} must be one of {}", values.join(", ")))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The data a prompt renders: the tasks it covers and the tenant's counters.
pub struct Data<'a> {
    pub tasks: &'a [Task],
    pub stats: &'a Value,
    pub models: &'a Value,
}

fn lines(tasks: &[Task]) -> String {
    tasks
        .iter()
        .map(|t| views::summary(t).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders `prompt` with `args` over `data` as one user message's text.
#[must_use]
pub fn render(prompt: &str, args: &Map<String, Value>, data: &Data<'_>) -> String {
    let arg = |k: &str, d: &str| args.get(k).and_then(Value::as_str).unwrap_or(d).to_owned();
    let tasks = format!("{} task(s):\n{}", data.tasks.len(), lines(data.tasks));
    match prompt {
        "task_summary" => format!("Summarise these mcpflow tasks: how many succeeded, failed or are still open, and anything notable.\n\n{tasks}"),
        "system_health" => {
            let mut text = format!("Assess mcpflow's health over the last {}. Counters since the tenant's first task:\n{}",
                arg("time_period", "day"), data.stats);
            if arg("check_resources", "false") == "true" {
                text.push_str(&format!("\n\nModels and their availability:\n{}", data.models));
            }
            if arg("include_performance", "false") == "true" {
                text.push_str(&format!("\n\nRecent tasks:\n{tasks}"));
            }
            text
        }
        "task_analysis" => format!("Give a {} analysis of the task group {}, focusing on {}.\n\nCounters:\n{}\n\n{tasks}",
            arg("analysis_depth", "shallow"), arg("task_group", ""), arg("focus_area", "performance"), data.stats),
        _ => format!("Review mcpflow's processing performance for {} against {} benchmarks{}.\n\nCounters (processing-time histogram in ms buckets):\n{}\n\n{tasks}",
            arg("review_period", ""), arg("benchmark_type", "historical"),
            args.get("focus_metrics").and_then(Value::as_str).map(|m| format!(", focusing on {m}")).unwrap_or_default(),
            data.stats),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn required_enumerated_and_unknown_arguments_are_checked() {
        assert!(check("system_health", &args(json!({"time_period": "day"}))).is_ok());
        assert!(check("system_health", &args(json!({})))
            .unwrap_err()
            .contains("time_period"));
        assert!(check("system_health", &args(json!({"time_period": "year"})))
            .unwrap_err()
            .contains("hour, day, week"));
        assert!(check("task_summary", &args(json!({"colour": "red"})))
            .unwrap_err()
            .contains("colour"));
        assert!(check("nope", &args(json!({}))).is_err());
    }

    #[test]
    fn rendering_includes_the_data() {
        let stats = json!({"counts": {"completed": 3}});
        let data = Data {
            tasks: &[],
            stats: &stats,
            models: &json!([]),
        };
        let text = render(
            "task_analysis",
            &args(json!({"task_group": "FAILED", "focus_area": "errors"})),
            &data,
        );
        assert!(
            text.contains("FAILED") && text.contains("errors") && text.contains("\"completed\":3"),
            "{text}"
        );
    }
}
