//! The agent protocol: an agent claims the next stage task assigned to it (long-polling), reports
//! progress (which is the attempt's heartbeat), and completes or fails it. Only the agent a task is
//! assigned to may touch it, with its own token.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::engine::{Engine, TokenError};
use super::executions::store::{update, ExecutionStore};
use super::executions::{StageStatus, MAX_ERROR_BYTES, MAX_OUTPUT_BYTES};
use super::runs::Runs;
use super::{invalid, PipelineError};
use crate::agents::store::AgentStore;
use crate::agents::AgentError;
use crate::auth::Principal;
use crate::conversation::service::stamp;
use crate::tasks::model::{LogLine, Task, TaskStatus};
use crate::tasks::stages::StageTasks;

/// The longest a claim waits for work.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// How often a waiting claim looks again.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// Log lines one progress report may carry.
pub const MAX_LOG_LINES_PER_REPORT: usize = 20;
/// Bytes of log lines a task keeps: the latest lines that fit.
pub const MAX_LOG_BYTES_KEPT: usize = 32 * 1024;
/// The longest log line, in bytes.
pub const MAX_LOG_LINE_BYTES: usize = 1000;

/// A checked report on a task: what it says, and the attempt it is about (`None`: the current one).
#[derive(Debug, Clone, PartialEq)]
pub struct Report<T> {
    pub attempt: Option<u32>,
    pub says: T,
}

/// What a progress report says: its lines as `(level, message)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub progress: Option<f64>,
    pub logs: Vec<(String, String)>,
}

/// A reported log line: a string (level `info`), or `{"level", "message"}`.
fn log_line(i: usize, line: &Value) -> Result<(String, String), PipelineError> {
    let bad = |what: &str| invalid(&format!("logs[{i}]"), what.to_owned());
    let (level, message) = match line {
        Value::String(s) => ("info", s.as_str()),
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| !["level", "message"].contains(&k.as_str())) {
                return Err(bad(&format!("has an unknown field {k:?}; expected level and message")));
            }
            let level = match o.get("level") {
                None | Some(Value::Null) => "info",
                Some(Value::String(l)) if LogLine::LEVELS.contains(&l.as_str()) => l.as_str(),
                Some(_) => return Err(bad(&format!("level must be one of {}", LogLine::LEVELS.join(", ")))),
            };
            (level, o.get("message").and_then(Value::as_str).unwrap_or_default())
        }
        _ => ("", ""),
    };
    if message.is_empty() || message.len() > MAX_LOG_LINE_BYTES {
        return Err(bad(&format!(
            "must be a message of 1 to {MAX_LOG_LINE_BYTES} bytes, as a string or {{\"level\", \"message\"}}"
        )));
    }
    Ok((level.to_owned(), message.to_owned()))
}

fn over(code: &'static str, message: String) -> PipelineError {
    PipelineError::TaskOver { code, message }
}

/// The report's object, with only `fields` and `attempt` (the attempt the report is about: a report
/// on an attempt that is over is refused, so a late report never lands on the next attempt).
fn object<'a>(
    body: &'a Value,
    fields: &[&str],
) -> Result<(&'a serde_json::Map<String, Value>, Option<u32>), PipelineError> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !fields.contains(&k.as_str()) && *k != "attempt") {
        return Err(invalid(
            k,
            format!("unknown field; expected {} or attempt", fields.join(", ")),
        ));
    }
    let attempt = match obj.get("attempt") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|a| *a >= 1)
                .and_then(|a| u32::try_from(a).ok())
                .ok_or_else(|| invalid("attempt", "must be the task's attempt number (1 or more)"))?,
        ),
    };
    Ok((obj, attempt))
}

/// `{"progress": 0–1, "logs": ["…"], "attempt": n}`, all optional.
///
/// # Errors
/// [`PipelineError::Invalid`] naming the wrong field.
pub fn progress_report(body: &Value) -> Result<Report<Progress>, PipelineError> {
    let (obj, attempt) = object(body, &["progress", "logs"])?;
    let progress = match obj.get("progress") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| invalid("progress", "must be a number from 0 to 1"))?,
        ),
    };
    let logs = match obj.get("logs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(lines)) if lines.len() <= MAX_LOG_LINES_PER_REPORT => lines
            .iter()
            .enumerate()
            .map(|(i, l)| log_line(i, l))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "logs",
                format!("must be a list of at most {MAX_LOG_LINES_PER_REPORT} lines"),
            ))
        }
    };
    Ok(Report {
        attempt,
        says: Progress { progress, logs },
    })
}

/// `{"output": …, "attempt": n}`: any JSON up to [`MAX_OUTPUT_BYTES`].
///
/// # Errors
/// [`PipelineError::Invalid`] when it is missing or too large.
pub fn completion(body: &Value) -> Result<Report<Value>, PipelineError> {
    let (obj, attempt) = object(body, &["output"])?;
    let output = obj
        .get("output")
        .cloned()
        .ok_or_else(|| invalid("output", "is required"))?;
    if output.to_string().len() > MAX_OUTPUT_BYTES {
        return Err(invalid(
            "output",
            format!("is larger than {MAX_OUTPUT_BYTES} bytes; put large data in S3 and return its s3:// URL"),
        ));
    }
    Ok(Report { attempt, says: output })
}

/// `{"error": "…", "attempt": n}`.
///
/// # Errors
/// [`PipelineError::Invalid`] when it is missing or too long.
pub fn failure(body: &Value) -> Result<Report<String>, PipelineError> {
    let (obj, attempt) = object(body, &["error"])?;
    match obj.get("error").and_then(Value::as_str) {
        Some(e) if !e.is_empty() && e.len() <= MAX_ERROR_BYTES => Ok(Report {
            attempt,
            says: e.to_owned(),
        }),
        _ => Err(invalid(
            "error",
            format!("must be a string of 1 to {MAX_ERROR_BYTES} bytes"),
        )),
    }
}

impl<P: Send + Sync, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks> Runs<P, X, E, A, T> {
    /// Checks that `who` is agent `agent_id` itself.
    async fn own_agent(&self, who: &Principal, agent_id: &str) -> Result<(), PipelineError> {
        let agent = self.agents.get(&who.tenant, agent_id).await?;
        match agent {
            Some(agent) if agent.is(who) => Ok(()),
            Some(_) => Err(PipelineError::Agent(AgentError::NotThisAgent(agent_id.to_owned()))),
            None => Err(PipelineError::Agent(AgentError::NotFound(agent_id.to_owned()))),
        }
    }

    /// `GET /agents/{id}/tasks/next?wait=`: the agent's oldest assigned task, claimed (`running`),
    /// waiting up to `wait` for one; `None` when none came.
    ///
    /// # Errors
    /// Not this agent's token, an unknown agent, a store failure.
    pub async fn next(&self, who: &Principal, agent_id: &str, wait: Duration) -> Result<Option<Task>, PipelineError> {
        self.own_agent(who, agent_id).await?;
        let until = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        loop {
            let now = Utc::now();
            let claimed = self.tasks.claim_next(&who.tenant, agent_id, &stamp(now)).await?;
            if let Some((task, token)) = claimed {
                // Its heartbeat ran while it waited in the inbox: a fresh one now, and an attempt that
                // timed out meanwhile is no work to hand out.
                if let Err(TokenError::Over(why)) = self.engine.heartbeat(&token).await {
                    let _ = self.timed_out(&task, &why).await;
                    continue;
                }
                // The task is the agent's now: a record that misses "running" is only less precise.
                if let Err(e) = self.claimed(&task, now).await {
                    tracing::warn!(task_id = %task.task_id, error = %e, "claim not recorded on the execution");
                }
                return Ok(Some(task));
            }
            if tokio::time::Instant::now() + POLL_EVERY > until {
                return Ok(None);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    async fn claimed(&self, task: &Task, now: DateTime<Utc>) -> Result<(), PipelineError> {
        self.task_changed(task).await;
        let Some(work) = &task.stage else { return Ok(()) };
        let at = stamp(now);
        let outcome = update(&self.executions, &task.tenant, &work.execution_id, |e| {
            let Some(run) = e.stages.get_mut(work.stage_index) else {
                return ((), false);
            };
            let this_attempt = run.task_id.as_deref() == Some(task.task_id.as_str()) && run.attempts == task.attempts;
            if !this_attempt || run.status.is_finished() {
                return ((), false);
            }
            run.status = StageStatus::Running;
            e.updated_at.clone_from(&at);
            ((), true)
        })
        .await?;
        if let Some((execution, ())) = outcome {
            self.progressed(&execution, Some(work.stage_index)).await;
        }
        Ok(())
    }

    /// The task `who` reports on, with its token: it must be a stage task assigned to `who`, on the
    /// attempt the report names (if it names one).
    async fn reported(
        &self,
        who: &Principal,
        task_id: &str,
        attempt: Option<u32>,
    ) -> Result<(Task, String), PipelineError> {
        let found = self.tasks.with_token(&who.tenant, task_id).await?;
        let (task, token) = found.ok_or_else(|| PipelineError::TaskNotFound(task_id.to_owned()))?;
        if let Some(a) = attempt.filter(|a| *a != task.attempts) {
            return Err(over(
                "TASK_ATTEMPT_OVER",
                format!(
                    "attempt {a} of task {task_id} is over (the task is on attempt {}): stop working on it",
                    task.attempts
                ),
            ));
        }
        let agent_id = task
            .stage
            .as_ref()
            .and_then(|s| s.assigned_agent.clone())
            .unwrap_or_default();
        match self.own_agent(who, &agent_id).await {
            Ok(()) => Ok((task, token)),
            Err(PipelineError::Agent(AgentError::NotThisAgent(_) | AgentError::NotFound(_))) => {
                Err(PipelineError::NotYourTask(task_id.to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// Why a task that is not running takes no report.
    fn not_running(task: &Task) -> PipelineError {
        let id = &task.task_id;
        match task.status {
            TaskStatus::Cancelled => over("TASK_CANCELLED", format!("task {id} was cancelled: stop working on it")),
            TaskStatus::Failed => over(
                "TASK_TIMED_OUT",
                format!(
                    "task {id} is over ({}): stop working on it",
                    task.error.as_deref().unwrap_or("failed")
                ),
            ),
            TaskStatus::Retrying => over(
                "TASK_ATTEMPT_OVER",
                format!(
                    "attempt {} of task {id} is over ({}); the next one follows: stop working on it",
                    task.attempts,
                    task.error.as_deref().unwrap_or("failed")
                ),
            ),
            TaskStatus::Completed => over("TASK_FINISHED", format!("task {id} is completed already")),
            TaskStatus::Pending | TaskStatus::Running => {
                over("TASK_NOT_CLAIMED", format!("task {id} is not claimed yet"))
            }
        }
    }

    /// The attempt timed out in the engine: the task waits for its next attempt, or fails after its
    /// last, and the agent is told to stop.
    async fn timed_out(&self, task: &Task, why: &str) -> PipelineError {
        let at = stamp(Utc::now());
        let (status, code) = if task.retries_left() {
            (TaskStatus::Retrying, "TASK_ATTEMPT_OVER")
        } else {
            (TaskStatus::Failed, "TASK_TIMED_OUT")
        };
        self.end_task(
            &task.tenant,
            (&task.task_id, Some(task.attempts)),
            status,
            &format!("the attempt is over: {why}"),
            &at,
        )
        .await;
        over(
            code,
            format!(
                "attempt {} of task {} timed out ({why}): stop working on it",
                task.attempts, task.task_id
            ),
        )
    }

    /// Replaces the task with `change` applied, again from a fresh read when it changed meanwhile.
    async fn change_task(
        &self,
        who: &Principal,
        (task_id, attempt): (&str, Option<u32>),
        mut change: impl FnMut(&mut Task) -> Result<(), PipelineError>,
    ) -> Result<Task, PipelineError> {
        for _ in 0..10 {
            let (before, token) = self.reported(who, task_id, attempt).await?;
            if before.status != TaskStatus::Running {
                return Err(Self::not_running(&before));
            }
            let mut after = before.clone();
            change(&mut after)?;
            if self.tasks.replace(&before, &after, &token).await? {
                self.task_changed(&after).await;
                return Ok(after);
            }
        }
        Err(PipelineError::Unknown(anyhow::anyhow!("task {task_id} kept changing")))
    }

    /// `POST /tasks/{id}/progress`: the attempt's heartbeat, and the progress and log lines kept on
    /// the task.
    ///
    /// # Errors
    /// A wrong field, `TASK_NOT_FOUND`, `NOT_YOUR_TASK`, `TASK_CANCELLED` / `TASK_ATTEMPT_OVER` /
    /// `TASK_TIMED_OUT` (stop working), a store or engine failure.
    pub async fn progress(
        &self,
        who: &Principal,
        task_id: &str,
        Report { attempt, says: report }: Report<Progress>,
    ) -> Result<Task, PipelineError> {
        let (task, token) = self.reported(who, task_id, attempt).await?;
        // Every change below is on this attempt.
        let attempt = Some(task.attempts);
        if task.status != TaskStatus::Running {
            return Err(Self::not_running(&task));
        }
        match self.engine.heartbeat(&token).await {
            Ok(()) => {}
            Err(TokenError::Over(why)) => return Err(self.timed_out(&task, &why).await),
            Err(TokenError::Unknown(e)) => return Err(PipelineError::Unknown(e)),
        }
        let at = stamp(Utc::now());
        self.change_task(who, (task_id, attempt), |t| {
            if let Some(work) = t.stage.as_mut() {
                if let Some(p) = report.progress {
                    work.progress = p;
                }
                work.logs.extend(report.logs.iter().map(|(level, message)| LogLine {
                    timestamp: at.clone(),
                    level: level.clone(),
                    message: message.clone(),
                }));
                let mut kept = 0;
                let keep_from = work
                    .logs
                    .iter()
                    .rposition(|l| {
                        // The line as stored: its text, its time and the JSON around them.
                        kept += serde_json::to_string(l).map_or(l.message.len(), |j| j.len());
                        kept > MAX_LOG_BYTES_KEPT
                    })
                    .map_or(0, |i| i + 1);
                work.logs.drain(..keep_from);
                work.updated_at.clone_from(&at);
            }
            Ok(())
        })
        .await
    }

    /// `POST /tasks/{id}/complete`: the output goes on the task and the execution (the next stages'
    /// input), then the attempt succeeds.
    ///
    /// # Errors
    /// As [`Self::progress`].
    pub async fn complete(
        &self,
        who: &Principal,
        task_id: &str,
        Report { attempt, says: output }: Report<Value>,
    ) -> Result<Task, PipelineError> {
        let (task, token) = self.reported(who, task_id, attempt).await?;
        let attempt = Some(task.attempts);
        if task.status == TaskStatus::Completed {
            // A retried report whose first try got no answer: the attempt is told again.
            return match self.engine.succeed(&token, &serde_json::json!({})).await {
                Ok(()) | Err(TokenError::Over(_)) => Ok(task),
                Err(TokenError::Unknown(e)) => Err(PipelineError::Unknown(e)),
            };
        }
        if task.status != TaskStatus::Running {
            return Err(Self::not_running(&task));
        }
        // A timed-out attempt must not leave its output for the stages after it.
        if let Err(TokenError::Over(why)) = self.engine.heartbeat(&token).await {
            return Err(self.timed_out(&task, &why).await);
        }
        let work = task
            .stage
            .clone()
            .ok_or_else(|| PipelineError::TaskNotFound(task_id.to_owned()))?;
        let at = stamp(Utc::now());
        update(&self.executions, &task.tenant, &work.execution_id, |e| {
            let Some(run) = e.stages.get_mut(work.stage_index) else {
                return ((), false);
            };
            let this_attempt = run.task_id.as_deref() == Some(task_id) && run.attempts == task.attempts;
            if !this_attempt || run.status.is_finished() {
                return ((), false);
            }
            run.output = Some(output.clone());
            run.error = None;
            e.updated_at.clone_from(&at);
            ((), true)
        })
        .await?;
        let done = self
            .change_task(who, (task_id, attempt), |t| {
                t.status = TaskStatus::Completed;
                t.finished_at = Some(at.clone());
                if let Some(w) = t.stage.as_mut() {
                    w.result = Some(output.clone());
                    w.progress = 1.0;
                    w.updated_at.clone_from(&at);
                }
                Ok(())
            })
            .await?;
        match self.engine.succeed(&token, &serde_json::json!({})).await {
            Ok(()) => Ok(done),
            Err(TokenError::Over(why)) => {
                tracing::warn!(%task_id, %why, "completed task's attempt was over in the engine");
                Ok(done)
            }
            Err(TokenError::Unknown(e)) => Err(PipelineError::Unknown(e)),
        }
    }

    /// `POST /tasks/{id}/fail`: the attempt fails with `error`, and the task with it after its last
    /// attempt (`retrying` before that).
    ///
    /// # Errors
    /// As [`Self::progress`].
    pub async fn fail(
        &self,
        who: &Principal,
        task_id: &str,
        Report { attempt, says: error }: Report<String>,
    ) -> Result<Task, PipelineError> {
        let at = stamp(Utc::now());
        let (task, token) = self.reported(who, task_id, attempt).await?;
        let attempt = Some(task.attempts);
        let reported_before = matches!(task.status, TaskStatus::Failed | TaskStatus::Retrying);
        if reported_before && task.error_code.as_deref() == Some("AGENT_FAILED") {
            // A retried report whose first try got no answer: the attempt is told again.
            return match self
                .engine
                .fail(&token, "AgentFailed", task.error.as_deref().unwrap_or_default())
                .await
            {
                Ok(()) | Err(TokenError::Over(_)) => Ok(task),
                Err(TokenError::Unknown(e)) => Err(PipelineError::Unknown(e)),
            };
        }
        let failed = self
            .change_task(who, (task_id, attempt), |t| {
                if t.retries_left() {
                    t.status = TaskStatus::Retrying;
                } else {
                    t.status = TaskStatus::Failed;
                    t.finished_at = Some(at.clone());
                }
                t.error = Some(error.clone());
                t.error_code = Some("AGENT_FAILED".into());
                if let Some(w) = t.stage.as_mut() {
                    w.updated_at.clone_from(&at);
                }
                Ok(())
            })
            .await?;
        if let Some(work) = &failed.stage {
            let outcome = update(&self.executions, &failed.tenant, &work.execution_id, |e| {
                let Some(run) = e.stages.get_mut(work.stage_index) else {
                    return ((), false);
                };
                let this_attempt = run.task_id.as_deref() == Some(task_id) && run.attempts == failed.attempts;
                if !this_attempt || run.status.is_finished() {
                    return ((), false);
                }
                run.error = Some(error.clone());
                if u64::from(run.attempts) <= run.retry_count {
                    run.status = StageStatus::Retrying;
                }
                e.updated_at.clone_from(&at);
                ((), true)
            })
            .await?;
            if let Some((execution, ())) = outcome {
                self.progressed(&execution, Some(work.stage_index)).await;
            }
        }
        match self.engine.fail(&token, "AgentFailed", &error).await {
            Ok(()) | Err(TokenError::Over(_)) => Ok(failed),
            Err(TokenError::Unknown(e)) => Err(PipelineError::Unknown(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(e: PipelineError) -> String {
        match e {
            PipelineError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn log_lines_are_strings_or_leveled_objects_and_a_report_may_name_its_attempt() {
        let report = progress_report(&json!({"progress": 0.5, "attempt": 2,
            "logs": ["plain", {"level": "warn", "message": "slow source"}, {"message": "no level"}]}))
        .unwrap();
        assert_eq!(report.attempt, Some(2));
        assert_eq!(
            report.says.logs,
            [("info", "plain"), ("warn", "slow source"), ("info", "no level")]
                .map(|(l, m)| (l.to_owned(), m.to_owned()))
        );
        for (bad, field) in [
            (json!({"logs": [{"level": "loud", "message": "x"}]}), "logs[0]"),
            (json!({"logs": ["ok", ""]}), "logs[1]"),
            (json!({"logs": [{"message": "x", "at": "now"}]}), "logs[0]"),
            (json!({"attempt": 0}), "attempt"),
            (json!({"progress": 2}), "progress"),
        ] {
            assert_eq!(field_of(progress_report(&bad).unwrap_err()), field, "{bad}");
        }
        assert_eq!(completion(&json!({"output": 1})).unwrap().attempt, None);
        assert_eq!(field_of(failure(&json!({"error": "x", "why": 1})).unwrap_err()), "why");
    }
}
