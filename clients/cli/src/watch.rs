//! `mcpflow pipelines run … --watch`: subscribes to the pipeline's `pipeline_progress` events over
//! the WebSocket API before starting the execution (so no event is missed), shows one line per stage
//! as the events come, and each stage task's log lines (subscribing to the task as soon as a stage is
//! assigned one), reads the execution again every few seconds in case an event was lost, and ends
//! with the execution's outcome as the exit code.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::api::Api;
use crate::socket::{connect, Follow};

/// Reads of the execution that may fail in a row (a minute of them) before the watch gives up.
const MAX_FAILED_READS: u32 = 12;
/// How often the execution is read again, whatever the events said.
const READ_AGAIN_EVERY: Duration = Duration::from_secs(5);

/// The exit code of a watch that could not follow its execution to the end.
pub const LOST: i32 = 3;

/// How an execution ended, as an exit code: 0 succeeded, 1 failed, 2 cancelled.
#[must_use]
pub fn exit_code(status: &str) -> i32 {
    match status {
        "succeeded" => 0,
        "cancelled" => 2,
        _ => 1,
    }
}

/// One line per stage: a bar on a terminal, plain lines otherwise (a log, a pipe, a test).
struct Board {
    bars: MultiProgress,
    stages: Vec<(String, ProgressBar)>,
    shown: BTreeMap<usize, String>,
    /// Per task: the last log line shown (its time and text).
    logged: HashMap<String, (String, String)>,
    plain: bool,
    json: bool,
}

impl Board {
    fn new(stage_names: &[String], json: bool) -> Self {
        let plain = !std::io::stderr().is_terminal();
        let target = if plain || json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bars = MultiProgress::with_draw_target(target);
        let width = stage_names.iter().map(String::len).max().unwrap_or(8);
        let style = ProgressStyle::with_template(&format!("{{prefix:>{width}}} [{{bar:24}}] {{msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let stages = stage_names
            .iter()
            .map(|name| {
                let bar = bars.add(ProgressBar::new(100));
                bar.set_style(style.clone());
                bar.set_prefix(name.clone());
                bar.set_message("waiting");
                (name.clone(), bar)
            })
            .collect();
        Self {
            bars,
            stages,
            shown: BTreeMap::new(),
            logged: HashMap::new(),
            plain,
            json,
        }
    }

    /// Shows the log lines of a stage task that were not shown yet, under the stage's name.
    fn task(&mut self, task: &Value) {
        let (Some(id), Some(index)) = (task["task_id"].as_str(), task["stage_index"].as_u64()) else {
            return;
        };
        let Some((name, _)) = usize::try_from(index).ok().and_then(|i| self.stages.get(i)) else {
            return;
        };
        let lines: Vec<(String, String, String)> = task["logs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                let field = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
                (field("timestamp"), field("level"), field("message"))
            })
            .collect();
        // The task keeps its latest lines only: start after the last one shown, if it is still there.
        let from = self.logged.get(id).map_or(0, |(at, message)| {
            lines
                .iter()
                .rposition(|(t, _, m)| t == at && m == message)
                .map_or(0, |i| i + 1)
        });
        for (at, level, message) in &lines[from..] {
            let line = format!("  {name} [{level}] {message}");
            if self.plain && !self.json {
                println!("{line}");
            } else if !self.json {
                let _ = self.bars.println(line);
            }
            self.logged.insert(id.to_owned(), (at.clone(), message.clone()));
        }
    }

    /// Shows a stage as the execution record or an event has it.
    fn stage(&mut self, index: usize, stage: &Value) {
        let Some((name, bar)) = self.stages.get(index) else {
            return;
        };
        let status = stage["status"].as_str().unwrap_or("unknown");
        let mut line = status.to_owned();
        if let Some(attempts) = stage["attempts"].as_u64().filter(|a| *a > 0) {
            line.push_str(&format!(", attempt {attempts}"));
        }
        if let Some(agent) = stage["agent_id"].as_str() {
            line.push_str(&format!(", agent {agent}"));
        }
        if let Some(error) = stage["error"].as_str() {
            line.push_str(&format!(": {error}"));
        }
        if self.shown.get(&index) == Some(&line) {
            return;
        }
        bar.set_position(match status {
            "completed" | "failed" | "cancelled" => 100,
            "running" => 50,
            "assigned" | "retrying" => 10,
            _ => 0,
        });
        bar.set_message(line.clone());
        if matches!(status, "completed" | "failed" | "cancelled") {
            bar.finish();
        }
        if self.plain && !self.json {
            println!("stage {name}: {line}");
        }
        self.shown.insert(index, line);
    }

    /// Shows every stage of an execution record.
    fn execution(&mut self, execution: &Value) {
        for (i, stage) in execution["stages"].as_array().into_iter().flatten().enumerate() {
            self.stage(i, stage);
        }
    }
}

/// Starts the pipeline and watches its execution to the end; the exit code.
///
/// # Errors
/// When mcpflow cannot be reached, refuses the start, or the WebSocket cannot be opened.
pub async fn run(api: &Api, pipeline_id: &str, body: &Value, json_out: bool) -> anyhow::Result<i32> {
    let pipeline = api.get(&format!("/api/v1/pipelines/{pipeline_id}")).await?;
    let names: Vec<String> = pipeline["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["name"].as_str().unwrap_or("?").to_owned())
        .collect();
    let mut follow = Follow::new(connect(api, &format!("pipeline:{pipeline_id}")).await?);
    let started = api
        .post(&format!("/api/v1/pipelines/{pipeline_id}/execute"), body)
        .await?;
    let execution_id = started["execution_id"]
        .as_str()
        .context("the start answered no execution_id")?
        .to_owned();
    if json_out {
        println!("{}", json!({"event": "started", "execution": started}));
    } else {
        eprintln!(
            "execution {execution_id} of {} started",
            pipeline["name"].as_str().unwrap_or(pipeline_id)
        );
    }
    let mut board = Board::new(&names, json_out);
    let path = format!("/api/v1/pipelines/{pipeline_id}/executions/{execution_id}");
    let mut read_again = tokio::time::interval(READ_AGAIN_EVERY);
    let mut watched: HashSet<String> = HashSet::new();
    let mut failed_reads = 0;
    let execution = loop {
        tokio::select! {
            _ = read_again.tick() => {
                // A read that fails is tried again at the next tick, for a minute.
                let execution = match api.get(&path).await {
                    Ok(execution) => execution,
                    Err(e) if failed_reads < MAX_FAILED_READS => {
                        failed_reads += 1;
                        eprintln!("(reading the execution failed, trying again: {e:#})");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                failed_reads = 0;
                board.execution(&execution);
                if execution["status"] != "running" {
                    break execution;
                }
            }
            // A connection that broke leaves the reads above to finish the watch.
            event = follow.next() => {
                let data = &event["data"];
                if event["message_type"] == "response" {
                    // A task subscription's answer carries the task as it is now.
                    for task in event["result"]["tasks"].as_object().into_iter().flat_map(|t| t.values()) {
                        if json_out {
                            println!("{}", json!({"event": "task_update", "data": task}));
                        }
                        board.task(task);
                    }
                    continue;
                }
                if event["event_type"] == "task_update" && data["execution_id"] == execution_id.as_str() {
                    if json_out {
                        println!("{}", json!({"event": "task_update", "data": data}));
                    }
                    board.task(data);
                    continue;
                }
                if event["event_type"] != "pipeline_progress" || data["execution_id"] != execution_id.as_str() {
                    continue;
                }
                if json_out {
                    println!("{}", json!({"event": "pipeline_progress", "data": data}));
                }
                if let Some(i) = data["stage"]["index"].as_u64().and_then(|i| usize::try_from(i).ok()) {
                    board.stage(i, &data["stage"]);
                }
                if let Some(task_id) = data["stage"]["task_id"].as_str() {
                    if watched.insert(task_id.to_owned()) {
                        let id = format!("subscribe-{}", watched.len() + 1);
                        let topics = json!({"topics": [format!("task:{task_id}")]});
                        // Logs are a bonus: a subscription that fails leaves the stages shown.
                        follow.request(&id, "subscribe", &topics).await;
                    }
                }
                if data["status"] != "running" {
                    // The record is the whole truth: events may come out of order (a read that
                    // fails leaves it to the next tick).
                    if let Ok(execution) = api.get(&path).await {
                        if execution["status"] != "running" {
                            break execution;
                        }
                    }
                }
            }
        }
    };
    // The bars stay on the terminal, each at its stage's end.
    board.execution(&execution);
    follow.close().await;
    let status = execution["status"].as_str().unwrap_or("unknown");
    if json_out {
        println!("{}", json!({"event": "finished", "execution": execution}));
    } else {
        println!("execution {execution_id} {status}");
        if let Some(message) = execution["error"]["message"].as_str() {
            eprintln!("{message}");
        }
    }
    Ok(exit_code(status))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_succeeded_execution_exits_zero() {
        assert_eq!(["succeeded", "failed", "cancelled"].map(super::exit_code), [0, 1, 2]);
    }
}
