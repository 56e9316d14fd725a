//! `mcpflow tasks`: AI tasks and pipeline stages alike — list them, read one, follow one until it
//! ends, cancel one.

use std::collections::HashSet;
use std::time::Duration;

use clap::Subcommand;
use serde_json::Value;

use crate::api::Api;
use crate::{show, table};

/// How often `watch` reads the task again.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// How long `watch` goes on trying when the task cannot be read (mcpflow unreachable, 5xx, 429).
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Subcommand)]
pub enum Tasks {
    /// The tenant's tasks, newest first.
    List {
        /// pending, running, retrying, completed, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        /// At most this many (1–100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// The `next_cursor` of an earlier page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One task: its status, progress, agent, logs, result or error.
    Get { task_id: String },
    /// Follows a task until it ends, printing its status, progress and new log lines as they change
    /// (exit 0 completed, 1 failed, 2 cancelled, 3 when it could not be read for a minute).
    Watch { task_id: String },
    /// Cancels a pending or running AI task (a finished one is refused with 409).
    Cancel { task_id: String },
}

/// Runs one `tasks` command; its exit code.
///
/// # Errors
/// When mcpflow cannot be reached or refuses the request.
pub async fn run(api: &Api, command: Tasks, json_out: bool) -> anyhow::Result<i32> {
    match command {
        Tasks::List { status, limit, cursor } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(status.map(|s| ("status", s)));
            query.extend(cursor.map(|c| ("cursor", c)));
            let found = api.get_query("/api/v1/mcp/tasks", &query).await?;
            show(json_out, &found, table::tasks);
        }
        Tasks::Get { task_id } => {
            let task = api.get(&format!("/api/v1/tasks/{task_id}")).await?;
            show(json_out, &task, crate::pretty);
        }
        Tasks::Cancel { task_id } => {
            let task = api
                .post(&format!("/api/v1/mcp/tasks/{task_id}/cancel"), &Value::Null)
                .await?;
            show(json_out, &task, |t| {
                println!("{task_id} {}", t["status"].as_str().unwrap_or("?"))
            });
        }
        Tasks::Watch { task_id } => return watch(api, &task_id, json_out).await,
    }
    Ok(0)
}

/// How a task ended, as an exit code; `None` while it has not.
#[must_use]
pub fn exit_code(status: &str) -> Option<i32> {
    match status {
        "completed" => Some(0),
        "failed" => Some(1),
        "cancelled" => Some(2),
        _ => None,
    }
}

/// What changed since the last read: a line for a new status or progress, one per new log line.
fn changes(task: &Value, last: &mut (String, String), seen: &mut HashSet<String>) -> Vec<String> {
    let mut lines = Vec::new();
    let status = task["status"].as_str().unwrap_or("?").to_owned();
    let progress = task["progress"]
        .as_f64()
        .map_or_else(String::new, |p| format!(" {:.0}%", p * 100.0));
    if (status.clone(), progress.clone()) != *last {
        lines.push(format!("{status}{progress}"));
        *last = (status, progress);
    }
    for log in task["logs"].as_array().into_iter().flatten() {
        let key = log.to_string();
        if seen.insert(key) {
            let level = log["level"].as_str().unwrap_or("info");
            lines.push(format!("  [{level}] {}", log["message"].as_str().unwrap_or_default()));
        }
    }
    lines
}

async fn watch(api: &Api, task_id: &str, json_out: bool) -> anyhow::Result<i32> {
    let path = format!("/api/v1/tasks/{task_id}");
    let (mut last, mut seen) = ((String::new(), String::new()), HashSet::new());
    let mut last_read = tokio::time::Instant::now();
    loop {
        let task = match api.get(&path).await {
            Ok(task) => {
                last_read = tokio::time::Instant::now();
                task
            }
            // A refusal that another read will not change (unknown task, bad key, role): at once.
            Err(e) if crate::api::is_final_refusal(&e) => return Err(e),
            Err(e) => {
                if last_read.elapsed() >= GIVE_UP_AFTER {
                    eprintln!("mcpflow: {e:#}");
                    return Ok(crate::watch::LOST);
                }
                tokio::time::sleep(WATCH_EVERY).await;
                continue;
            }
        };
        let lines = changes(&task, &mut last, &mut seen);
        if json_out && !lines.is_empty() {
            println!("{task}");
        } else {
            for line in lines {
                println!("{line}");
            }
        }
        if let Some(code) = task["status"].as_str().and_then(exit_code) {
            if !json_out {
                match code {
                    0 => println!(
                        "result: {}",
                        task.get("result").or(task.get("output")).unwrap_or(&Value::Null)
                    ),
                    _ => println!("error: {}", task["error"].as_str().unwrap_or("-")),
                }
            }
            return Ok(code);
        }
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_watch_prints_each_status_and_progress_once_and_each_log_line_once() {
        let (mut last, mut seen) = ((String::new(), String::new()), HashSet::new());
        let running = json!({"status": "running", "progress": 0.5,
            "logs": [{"timestamp": "t1", "level": "info", "message": "read 10 rows"}]});
        assert_eq!(
            changes(&running, &mut last, &mut seen),
            ["running 50%", "  [info] read 10 rows"]
        );
        assert!(changes(&running, &mut last, &mut seen).is_empty());
        let done = json!({"status": "completed", "progress": 1.0,
            "logs": [{"timestamp": "t1", "level": "info", "message": "read 10 rows"},
                     {"timestamp": "t2", "level": "warn", "message": "2 rows empty"}]});
        assert_eq!(
            changes(&done, &mut last, &mut seen),
            ["completed 100%", "  [warn] 2 rows empty"]
        );
    }

    #[test]
    fn only_an_ended_task_has_an_exit_code() {
        let codes: Vec<Option<i32>> = ["pending", "running", "retrying", "completed", "failed", "cancelled"]
            .into_iter()
            .map(exit_code)
            .collect();
        assert_eq!(codes, [None, None, None, Some(0), Some(1), Some(2)]);
    }
}
