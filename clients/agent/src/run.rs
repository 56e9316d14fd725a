//! The agent's loop: a heartbeat every few seconds (with its load), and one stage at a time claimed,
//! run with progress reports (each one the attempt's heartbeat), and completed or failed. A stage
//! the server says is cancelled or timed out is dropped at the next report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::client::{Agent, Report, StageTask};
use crate::stages;
use crate::storage::Storage;

/// How the loop runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub heartbeat_every: Duration,
    /// How long each claim waits for work (at most 20 s).
    pub claim_wait_secs: u64,
    /// How often a running stage reports progress.
    pub progress_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            heartbeat_every: Duration::from_secs(5),
            claim_wait_secs: 20,
            progress_every: Duration::from_secs(5),
        }
    }
}

/// Heartbeats until dropped: the load is 1 while `busy`, else 0.
pub fn heartbeats(agent: Agent, busy: Arc<AtomicBool>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let load = if busy.load(Ordering::Relaxed) { 1.0 } else { 0.0 };
            if let Err(e) = agent.heartbeat(load).await {
                tracing::warn!(error = %e, "heartbeat failed");
            }
            tokio::time::sleep(every).await;
        }
    })
}

/// Runs one claimed task to its report; what was reported.
pub async fn run_task(
    agent: &Agent,
    storage: Option<&Storage>,
    task: &StageTask,
    options: Options,
) -> anyhow::Result<Report> {
    tracing::info!(task_id = %task.task_id, stage = %task.stage, attempt = task.attempts, "running");
    // Said at once, so whoever watches the task sees it taken (and a cancelled one is not started).
    let started = format!("started {} (attempt {})", task.stage_type, task.attempts);
    if let Report::Stop(why) = agent.progress(task, 0.0, &[started]).await? {
        return Ok(Report::Stop(why));
    }
    let work = stages::run(agent, storage, &task.stage_type, &task.payload);
    tokio::pin!(work);
    let mut ticks = tokio::time::interval(options.progress_every);
    ticks.tick().await;
    let outcome: Result<Value, String> = loop {
        tokio::select! {
            done = &mut work => break done,
            _ = ticks.tick() => {
                let line = format!("{} still running", task.stage);
                if let Report::Stop(why) = agent.progress(task, 0.5, &[line]).await? {
                    tracing::info!(task_id = %task.task_id, %why, "stopped by the server");
                    return Ok(Report::Stop(why));
                }
            }
        }
    };
    match outcome {
        Ok(output) => match complete(agent, task, &output).await? {
            // Refused (too large, say): the stage fails saying why, rather than timing out.
            Report::Refused(why) => agent.fail(task, &format!("the output was refused: {why}")).await,
            reported => Ok(reported),
        },
        Err(error) => agent.fail(task, &error).await,
    }
}

/// Completes the task, trying again after 1, 2 and 4 s when mcpflow cannot be reached or fails (a
/// repeated completion is answered as the first was).
async fn complete(agent: &Agent, task: &StageTask, output: &serde_json::Value) -> anyhow::Result<Report> {
    let mut wait = Duration::from_secs(1);
    for _ in 0..3 {
        match agent.complete(task, output).await {
            Ok(report) => return Ok(report),
            Err(e) => tracing::warn!(task_id = %task.task_id, error = %e, "completion not taken; trying again"),
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
    agent.complete(task, output).await
}

async fn say_load(agent: &Agent, load: f64) {
    if let Err(e) = agent.heartbeat(load).await {
        tracing::warn!(error = %e, "heartbeat failed");
    }
}

/// Claims and runs stages until `stop` is set; `storage` for `s3://` input and output.
pub async fn serve(agent: Agent, storage: Option<Storage>, options: Options, stop: Arc<AtomicBool>) {
    let busy = Arc::new(AtomicBool::new(false));
    let beating = heartbeats(agent.clone(), busy.clone(), options.heartbeat_every);
    while !stop.load(Ordering::Relaxed) {
        match agent.next(options.claim_wait_secs).await {
            Ok(Some(task)) => {
                // Said at once, not at the next heartbeat: mcpflow gives a full agent no new stage,
                // and an idle one the next.
                busy.store(true, Ordering::Relaxed);
                say_load(&agent, 1.0).await;
                match run_task(&agent, storage.as_ref(), &task, options).await {
                    Ok(report) => tracing::info!(task_id = %task.task_id, ?report, "reported"),
                    Err(e) => tracing::warn!(task_id = %task.task_id, error = %e, "report failed"),
                }
                busy.store(false, Ordering::Relaxed);
                say_load(&agent, 0.0).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "claim failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    beating.abort();
}
