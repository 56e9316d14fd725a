//! Running pipelines: execute, read and cancel an execution (REST), and what stage-dispatcher does
//! with each message the state machine sends (a gate to open, a stage attempt to assign, a stage
//! done or lost, the execution finished).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::engine::Engine;
use super::executions::store::{update, update_known, ExecutionStore};
use super::executions::{execute_request, Execution, ExecutionError, ExecutionStatus, StageStatus};
use super::store::PipelineStore;
use super::webhook::{self, Webhooks};
use super::{invalid, PipelineError};
use crate::agents::store::AgentStore;
use crate::agents::{Agent, AgentTimeouts, Liveness};
use crate::auth::Principal;
use crate::connections::publish::TopicEvents;
use crate::conversation::service::stamp;
use crate::tasks::model::{StageWork, Task, TaskStatus, TaskType};
use crate::tasks::stages::StageTasks;
use crate::tasks::updates::TaskUpdates;

/// What running pipelines needs.
pub struct Runs<P, X, E, A, T> {
    pub pipelines: P,
    pub executions: X,
    pub engine: E,
    pub agents: A,
    pub tasks: T,
    pub timeouts: AgentTimeouts,
    /// Where notifications go, and how they may be reached.
    pub webhooks: Webhooks,
    /// How long a stage task is kept (DynamoDB TTL), in seconds.
    pub task_retention_secs: i64,
    /// `pipeline_progress` to `pipeline:<id>` subscribers (`None`: nowhere).
    pub events: Option<Arc<dyn TopicEvents>>,
    /// `task_update` of stage tasks (`None`: nowhere).
    pub updates: Option<Arc<dyn TaskUpdates>>,
}

/// The WebSocket topic of a pipeline's executions.
#[must_use]
pub fn pipeline_topic(pipeline_id: &str) -> String {
    format!("pipeline:{pipeline_id}")
}

fn unknown(e: impl Into<anyhow::Error>) -> PipelineError {
    PipelineError::Unknown(e.into())
}

impl<P, X, E, A, T> Runs<P, X, E, A, T> {
    pub(crate) async fn progressed(&self, execution: &Execution, stage: Option<usize>) {
        if let Some(events) = &self.events {
            let topics = [pipeline_topic(&execution.pipeline_id)];
            let data = execution.progress_event(stage);
            events
                .published(&execution.tenant, &topics, "pipeline_progress", &data)
                .await;
        }
    }

    pub(crate) async fn task_changed(&self, task: &Task) {
        if let Some(updates) = &self.updates {
            updates.published(task).await;
        }
    }
}

impl<P: PipelineStore, X: ExecutionStore, E: Engine, A, T: StageTasks> Runs<P, X, E, A, T> {
    /// `POST /pipelines/{id}/execute`: stores the execution, then starts its state machine (named by
    /// the execution id, so a retried start starts nothing new).
    ///
    /// # Errors
    /// A wrong field, [`PipelineError::NotFound`], a store or engine failure (the execution is then
    /// recorded as failed).
    pub async fn execute(
        &self,
        who: &Principal,
        pipeline_id: &str,
        body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Execution, PipelineError> {
        let request = execute_request(body, self.webhooks.policy.allow_private).map_err(|(f, m)| invalid(&f, m))?;
        let pipeline = super::get(&self.pipelines, who, pipeline_id).await?;
        let id = crate::ids::new_id("exe", now.timestamp_millis())?;
        let execution = Execution::new(&pipeline, id, request, &who.subject, &stamp(now));
        self.start(who, execution, now).await
    }

    /// Stores a new execution, then starts its state machine (named by the execution id, so a
    /// retried start starts nothing new).
    pub(crate) async fn start(
        &self,
        who: &Principal,
        mut execution: Execution,
        now: DateTime<Utc>,
    ) -> Result<Execution, PipelineError> {
        if !self.executions.create(&execution).await? {
            return Err(unknown(anyhow::anyhow!(
                "execution id {} taken",
                execution.execution_id
            )));
        }
        execution.version = 1;
        let started = self
            .engine
            .start(&execution.execution_id, &execution.machine_input())
            .await;
        // Nothing else has written it yet, most often: then recording the start is one write.
        let id = execution.execution_id.clone();
        let outcome = update_known(&self.executions, &who.tenant, &id, Some(execution), |e| {
            match &started {
                Ok(arn) => e.execution_arn = Some(arn.clone()),
                Err(_) if e.status.is_finished() => {}
                Err(_) => {
                    e.status = ExecutionStatus::Failed;
                    e.error = Some(ExecutionError {
                        stage: None,
                        message: "the workflow engine did not start the execution".into(),
                    });
                    e.finished_at = Some(e.updated_at.clone());
                    e.cancel_unfinished(&stamp(now));
                }
            }
            ((), true)
        })
        .await?;
        if let Err(e) = started {
            return Err(unknown(e.context("StartExecution")));
        }
        let (execution, ()) = outcome.ok_or_else(|| unknown(anyhow::anyhow!("execution vanished")))?;
        if execution.status == ExecutionStatus::Cancelled {
            // Cancelled before its state machine was known: stopped now.
            if let Some(arn) = &execution.execution_arn {
                self.engine
                    .stop(arn, "cancelled while starting")
                    .await
                    .map_err(unknown)?;
            }
        }
        self.progressed(&execution, None).await;
        Ok(execution)
    }
}

impl<P, X: ExecutionStore, E, A, T> Runs<P, X, E, A, T> {
    /// One execution of one of the tenant's pipelines.
    ///
    /// # Errors
    /// [`PipelineError::ExecutionNotFound`] (of another pipeline or tenant too), a store failure.
    pub async fn execution(
        &self,
        who: &Principal,
        pipeline_id: &str,
        execution_id: &str,
    ) -> Result<Execution, PipelineError> {
        self.executions
            .get(&who.tenant, execution_id)
            .await?
            .filter(|e| e.pipeline_id == pipeline_id)
            .ok_or_else(|| PipelineError::ExecutionNotFound(execution_id.to_owned()))
    }
}

impl<P: PipelineStore, X: ExecutionStore, E, A, T> Runs<P, X, E, A, T> {
    /// A page of the pipeline's executions, newest first, and the cursor of the next.
    ///
    /// # Errors
    /// [`PipelineError::NotFound`] (another tenant's too), a store failure.
    pub async fn executions(
        &self,
        who: &Principal,
        pipeline_id: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<(Vec<Execution>, Option<String>), PipelineError> {
        let page = self.executions.list(&who.tenant, pipeline_id, limit, after).await?;
        // An empty page may be an unknown pipeline's: only then is the pipeline read.
        if page.0.is_empty() && self.pipelines.get(&who.tenant, pipeline_id).await?.is_none() {
            return Err(PipelineError::NotFound(pipeline_id.to_owned()));
        }
        Ok(page)
    }
}

impl<P, X: ExecutionStore, E: Engine, A, T: StageTasks> Runs<P, X, E, A, T> {
    /// `POST …/executions/{id}/cancel`: records the execution, every unfinished stage and its task as
    /// cancelled, then stops the state machine; an agent hears of it on its next progress report.
    ///
    /// # Errors
    /// [`PipelineError::ExecutionNotFound`], [`PipelineError::ExecutionFinished`], a store or engine
    /// failure.
    pub async fn cancel(
        &self,
        who: &Principal,
        pipeline_id: &str,
        execution_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Execution, PipelineError> {
        let execution = self.execution(who, pipeline_id, execution_id).await?;
        let stop = |arn: Option<String>| async move {
            match arn {
                Some(arn) => self
                    .engine
                    .stop(&arn, &format!("cancelled by {}", who.subject))
                    .await
                    .map_err(unknown),
                None => Ok(()),
            }
        };
        if execution.status.is_finished() {
            // A cancel whose stop failed is finished only once the state machine is stopped too.
            if execution.status == ExecutionStatus::Cancelled {
                stop(execution.execution_arn.clone()).await?;
            }
            return Err(PipelineError::ExecutionFinished(
                execution_id.to_owned(),
                execution.status,
            ));
        }
        let at = stamp(now);
        let outcome = update(&self.executions, &who.tenant, execution_id, |e| {
            if e.status.is_finished() {
                return (Vec::new(), false);
            }
            e.status = ExecutionStatus::Cancelled;
            e.finished_at = Some(at.clone());
            e.updated_at.clone_from(&at);
            (e.cancel_unfinished(&at), true)
        })
        .await?;
        let (execution, tasks) = outcome.ok_or_else(|| PipelineError::ExecutionNotFound(execution_id.to_owned()))?;
        if execution.status != ExecutionStatus::Cancelled {
            // It ended on its own meanwhile.
            return Err(PipelineError::ExecutionFinished(
                execution_id.to_owned(),
                execution.status,
            ));
        }
        for task_id in tasks {
            self.end_task(
                &who.tenant,
                (&task_id, None),
                TaskStatus::Cancelled,
                "the execution was cancelled",
                &at,
            )
            .await;
        }
        self.progressed(&execution, None).await;
        // Recorded first, so the record never says running after the state machine stopped; a stop
        // that fails here is tried again by the next cancel.
        stop(execution.execution_arn.clone()).await?;
        Ok(execution)
    }
}

impl<P, X, E, A, T: StageTasks> Runs<P, X, E, A, T> {
    /// Ends a stage task that is not finished yet (cancelled, or failed when its last attempt timed
    /// out), or its attempt (`Retrying`: the next one follows). With `attempt`, only while the task is
    /// still on that attempt. A failure is logged, as the execution's record already tells.
    pub(crate) async fn end_task(
        &self,
        tenant: &str,
        (task_id, attempt): (&str, Option<u32>),
        status: TaskStatus,
        why: &str,
        now: &str,
    ) {
        for _ in 0..5 {
            let found = match self.tasks.with_token(tenant, task_id).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(%task_id, error = %e, "stage task not ended");
                    return;
                }
            };
            let Some((before, token)) = found else { return };
            let other_attempt = attempt.is_some_and(|a| a != before.attempts);
            if before.status.is_finished() || before.status == status || other_attempt {
                return;
            }
            let mut after = before.clone();
            after.status = status;
            if status.is_finished() {
                after.finished_at = Some(now.to_owned());
            }
            after.error = Some(why.to_owned());
            if status == TaskStatus::Retrying {
                after.error_code = Some("ATTEMPT_TIMED_OUT".into());
            }
            if let Some(stage) = after.stage.as_mut() {
                now.clone_into(&mut stage.updated_at);
            }
            match self.tasks.replace(&before, &after, &token).await {
                Ok(true) => {
                    self.task_changed(&after).await;
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%task_id, error = %e, "stage task not ended");
                    return;
                }
            }
        }
    }
}

/// A message of the state machine on the stage queue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageMessage {
    /// A stage waits for its dependencies: keep its gate's token, or open it now.
    Gate {
        tenant: String,
        execution_id: String,
        stage: usize,
        token: String,
    },
    /// A stage attempt to assign to an agent.
    Stage {
        tenant: String,
        execution_id: String,
        stage: usize,
        attempt: u32,
        timeout: u64,
        /// The attempt's heartbeat: while no agent has claimed it, the dispatcher keeps it alive.
        heartbeat: u64,
        token: String,
    },
    /// An attempt succeeded: the stage is done.
    StageDone {
        tenant: String,
        execution_id: String,
        stage: usize,
        attempt: u32,
    },
    /// The last attempt failed.
    StageFailed {
        tenant: String,
        execution_id: String,
        stage: usize,
        attempt: u32,
        failure: Value,
    },
    /// The execution is over.
    Finished {
        tenant: String,
        execution_id: String,
        status: String,
        #[serde(default)]
        failure: Option<Value>,
    },
}

/// How long a stage attempt may wait for an agent.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    /// When the message was first sent.
    first_sent_ms: i64,
    /// When its timeout ends (from the message's first sending).
    deadline_ms: i64,
    /// Times the message was received.
    receives: u32,
    heartbeat: u64,
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatched {
    /// Done with: delete it.
    Handled,
    /// No capable active agent: try again after this many seconds.
    NoAgent(u64),
}

/// The error name and cause of a Step Functions failure object (`{"Error", "Cause"}`).
fn failure_text(failure: &Value) -> String {
    let error = failure["Error"].as_str().unwrap_or("Failed");
    match failure["Cause"].as_str().filter(|c| !c.is_empty()) {
        Some(cause) => format!("{error}: {cause}"),
        None => error.to_owned(),
    }
}

/// The agents that may get a stage of `stage_type` at `now_ms`, the first choice first: active,
/// capable of it, with room (`current_load` below 1), least loaded (then the one heard from last).
#[must_use]
pub fn capable_agents<'a>(
    agents: &'a [Agent],
    stage_type: &str,
    timeouts: AgentTimeouts,
    now_ms: i64,
) -> Vec<&'a Agent> {
    let mut capable: Vec<&Agent> = agents
        .iter()
        .filter(|a| a.liveness(timeouts, now_ms) == Liveness::Active)
        .filter(|a| a.current_load < 1.0)
        .filter(|a| a.capabilities.iter().any(|c| c == stage_type))
        .collect();
    capable.sort_by(|a, b| {
        a.current_load
            .total_cmp(&b.current_load)
            .then(b.last_heartbeat_ms.cmp(&a.last_heartbeat_ms))
    });
    capable
}

/// Seconds before a stage with no capable agent is looked at again: doubling from 1 to 32 with
/// each receive.
#[must_use]
pub fn no_agent_delay(receives: u32) -> u64 {
    1u64 << receives.min(6).saturating_sub(1).min(6)
}

/// What becomes of a stage message that found no agent when Step Functions refuses the attempt's
/// heartbeat with `code`, `sent_ms_ago` after the message was first sent. `TaskTimedOut` or
/// `TaskDoesNotExist`: the attempt is over, the message is done with. `InvalidToken` within the
/// attempt's first heartbeat: the token may not take heartbeats yet (moto sets a task's heartbeat
/// up only once its message is sent, so a dispatcher that reads the message at once can beat it),
/// and dropping the message would leave the stage unassigned until that heartbeat times out: it is
/// looked at again, as with no agent. Later, a token still refused is one that never will be taken
/// (on AWS, `InvalidToken` is a malformed token): the message is done with.
fn refused_heartbeat(code: &str, receives: u32, within_heartbeat: u64, sent_ms_ago: i64, heartbeat: u64) -> Dispatched {
    let first_heartbeat_ms = i64::try_from(heartbeat.saturating_mul(1000)).unwrap_or(i64::MAX);
    if code == "InvalidToken" && sent_ms_ago < first_heartbeat_ms {
        Dispatched::NoAgent(no_agent_delay(receives).min(within_heartbeat))
    } else {
        Dispatched::Handled
    }
}

impl<P, X: ExecutionStore, E: Engine, A: AgentStore, T: StageTasks> Runs<P, X, E, A, T> {
    /// Handles one message. `first_sent_ms` and `receives` are the message's SQS attributes.
    ///
    /// # Errors
    /// A store or engine failure: the message comes back.
    pub async fn dispatch(
        &self,
        message: StageMessage,
        first_sent_ms: i64,
        receives: u32,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, PipelineError> {
        match message {
            StageMessage::Gate {
                tenant,
                execution_id,
                stage,
                token,
            } => {
                self.gate(&tenant, &execution_id, stage, token).await?;
            }
            StageMessage::Stage {
                tenant,
                execution_id,
                stage,
                attempt,
                timeout,
                heartbeat,
                token,
            } => {
                let deadline_ms = first_sent_ms + i64::try_from(timeout.saturating_mul(1000)).unwrap_or(i64::MAX);
                let waiting = Waiting {
                    first_sent_ms,
                    deadline_ms,
                    receives,
                    heartbeat,
                };
                return self
                    .assign(&tenant, &execution_id, stage, attempt, &token, waiting, now)
                    .await;
            }
            StageMessage::StageDone {
                tenant,
                execution_id,
                stage,
                attempt,
            } => {
                self.stage_over(&tenant, &execution_id, stage, attempt, None, now)
                    .await?;
            }
            StageMessage::StageFailed {
                tenant,
                execution_id,
                stage,
                attempt,
                failure,
            } => {
                self.stage_over(
                    &tenant,
                    &execution_id,
                    stage,
                    attempt,
                    Some(failure_text(&failure)),
                    now,
                )
                .await?;
            }
            StageMessage::Finished {
                tenant,
                execution_id,
                status,
                failure,
            } => {
                self.finished(&tenant, &execution_id, status == "succeeded", failure.as_ref(), now)
                    .await?;
            }
        }
        Ok(Dispatched::Handled)
    }

    /// Opens every gate whose stage may start now, then forgets the tokens that were answered. A
    /// gate opened twice is harmless (the second answer is refused as over), so any delivery may
    /// call this.
    async fn open_ready(&self, tenant: &str, execution_id: &str) -> Result<(), PipelineError> {
        let Some(execution) = self.executions.get(tenant, execution_id).await? else {
            return Ok(());
        };
        let mut opened = Vec::new();
        let mut failed = None;
        for (stage, token) in execution.ready_gates() {
            match self.engine.succeed(&token, &json!({})).await {
                // Open now, or already: nothing waits on it any more.
                Ok(()) | Err(super::engine::TokenError::Over(_)) => opened.push((stage, token)),
                Err(super::engine::TokenError::Unknown(e)) => failed = Some(e),
            }
        }
        if !opened.is_empty() {
            update(&self.executions, tenant, execution_id, |e| {
                let before = e.gates.len();
                // By token: a gate sent again (its send retried) has a new one, still to open.
                e.gates
                    .retain(|stage, token| !opened.iter().any(|(s, t)| s == stage && t == token));
                ((), e.gates.len() != before)
            })
            .await?;
        }
        failed.map_or(Ok(()), |e| Err(unknown(e)))
    }

    async fn gate(&self, tenant: &str, execution_id: &str, stage: usize, token: String) -> Result<(), PipelineError> {
        update(&self.executions, tenant, execution_id, |e| {
            if e.status.is_finished() || stage >= e.stages.len() || e.stages[stage].status.is_finished() {
                return ((), false);
            }
            let changed = e.gates.get(&stage) != Some(&token);
            e.gates.insert(stage, token.clone());
            ((), changed)
        })
        .await?;
        self.open_ready(tenant, execution_id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn assign(
        &self,
        tenant: &str,
        execution_id: &str,
        stage: usize,
        attempt: u32,
        token: &str,
        waiting: Waiting,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, PipelineError> {
        let Some(execution) = self.executions.get(tenant, execution_id).await? else {
            return Ok(Dispatched::Handled);
        };
        let Some(run) = execution.stages.get(stage) else {
            return Ok(Dispatched::Handled);
        };
        if execution.status.is_finished() || run.status.is_finished() || run.attempts > attempt {
            return Ok(Dispatched::Handled);
        }
        let now_ms = now.timestamp_millis();
        if run.attempts == attempt {
            // Recorded by an earlier delivery: its task is written, or it is written now.
            return self.assign_recorded(&execution, stage, attempt, token, now).await;
        }
        // One task for all of the stage's attempts: the one an earlier attempt (or the submission)
        // wrote, or a new one.
        let task_id = match &run.task_id {
            Some(id) => id.clone(),
            None => crate::ids::new_id("task", now_ms)?,
        };
        if run.task_id.is_some() && attempt > 1 {
            // The state machine has moved on to this attempt: the one before is over, and its agent
            // (released with it) may take this one.
            let why = "the attempt timed out or failed";
            let previous = (task_id.as_str(), Some(attempt - 1));
            self.end_task(tenant, previous, TaskStatus::Retrying, why, &stamp(now))
                .await;
        }
        let agents = self.agents.list(tenant).await?;
        // An agent holding a task gets no other (a task would wait in its inbox without a heartbeat,
        // while here it has the dispatcher's). The reservation is a conditional write, so concurrent
        // dispatches cannot both give one agent a task.
        let mut chosen = None;
        for agent in capable_agents(&agents, &run.stage_type, self.timeouts, now_ms) {
            let reserved = self
                .tasks
                .reserve(tenant, &agent.agent_id, (&task_id, attempt), now_ms)
                .await;
            if reserved? {
                chosen = Some(agent);
                break;
            }
        }
        let Some(agent) = chosen else {
            if now_ms >= waiting.deadline_ms {
                // The attempt has timed out in the state machine by now: nothing to keep.
                return Ok(Dispatched::Handled);
            }
            let within_heartbeat = (waiting.heartbeat / 2).max(1);
            // Waiting for an agent is not an agent's silence: the attempt's heartbeat goes on.
            match self.engine.heartbeat(token).await {
                Ok(()) => {}
                Err(super::engine::TokenError::Over(code)) => {
                    let sent_ms_ago = now_ms - waiting.first_sent_ms;
                    let next = refused_heartbeat(
                        &code,
                        waiting.receives,
                        within_heartbeat,
                        sent_ms_ago,
                        waiting.heartbeat,
                    );
                    tracing::warn!(
                        execution_id,
                        stage,
                        attempt,
                        code,
                        ?next,
                        "a waiting stage's heartbeat was refused"
                    );
                    return Ok(next);
                }
                Err(super::engine::TokenError::Unknown(e)) => return Err(unknown(e)),
            }
            if run.status != StageStatus::Pending {
                update(&self.executions, tenant, execution_id, |e| {
                    // Only while no delivery has handed this attempt out: never back from its assignment.
                    let run = &mut e.stages[stage];
                    let changed = run.attempts < attempt && !run.status.is_finished();
                    if changed {
                        run.status = StageStatus::Pending;
                    }
                    ((), changed)
                })
                .await?;
            }
            return Ok(Dispatched::NoAgent(
                no_agent_delay(waiting.receives).min(within_heartbeat),
            ));
        };
        let at = stamp(now);
        let agent_id = agent.agent_id.clone();
        let outcome = update(&self.executions, tenant, execution_id, |e| {
            let run = &mut e.stages[stage];
            if e.status.is_finished() || run.status.is_finished() || run.attempts > attempt {
                return (None, false);
            }
            if run.attempts == attempt {
                // Another delivery of this message came first.
                return (None, false);
            }
            run.attempts = attempt;
            run.output = None;
            run.task_id = Some(task_id.clone());
            run.agent_id = Some(agent_id.clone());
            run.status = StageStatus::Assigned;
            run.error = None;
            if run.started_at.is_none() {
                run.started_at = Some(at.clone());
            }
            e.updated_at.clone_from(&at);
            (Some(()), true)
        })
        .await?;
        let execution = match outcome {
            Some((execution, Some(()))) => execution,
            lost => {
                // Not this delivery's to hand out. Every delivery of one message reserves the same
                // (task, attempt), so the agent stays reserved when the delivery that won picked it.
                let winner_took_it = lost.is_some_and(|(e, _)| {
                    let run = &e.stages[stage];
                    run.attempts == attempt && run.agent_id.as_deref() == Some(agent_id.as_str())
                });
                if !winner_took_it {
                    self.tasks.release(tenant, &agent_id, (&task_id, attempt)).await?;
                }
                return Ok(Dispatched::Handled);
            }
        };
        self.write_task(&execution, stage, attempt, token, (&task_id, &agent_id), now)
            .await
    }

    /// Writes the attempt the record names, unless it is written already (its agent reserved for it
    /// again: a reservation a dead delivery left is taken back after a minute).
    async fn assign_recorded(
        &self,
        execution: &Execution,
        stage: usize,
        attempt: u32,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Dispatched, PipelineError> {
        let run = &execution.stages[stage];
        let (Some(task_id), Some(agent_id)) = (&run.task_id, &run.agent_id) else {
            return Ok(Dispatched::Handled);
        };
        let found = self.tasks.with_token(&execution.tenant, task_id).await?;
        if found.is_some_and(|(t, _)| t.attempts >= attempt) {
            return Ok(Dispatched::Handled);
        }
        let now_ms = now.timestamp_millis();
        self.tasks
            .reserve(&execution.tenant, agent_id, (task_id, attempt), now_ms)
            .await?;
        self.write_task(execution, stage, attempt, token, (task_id, agent_id), now)
            .await
    }

    /// Writes this attempt of the stage's task, assigned to its agent (the task itself when it is
    /// the first, or its earlier attempt replaced), and tells of it.
    async fn write_task(
        &self,
        execution: &Execution,
        stage: usize,
        attempt: u32,
        token: &str,
        (task_id, agent_id): (&str, &str),
        now: DateTime<Utc>,
    ) -> Result<Dispatched, PipelineError> {
        for _ in 0..5 {
            let previous = self.tasks.with_token(&execution.tenant, task_id).await?.map(|(t, _)| t);
            if let Some(p) = &previous {
                if p.status == TaskStatus::Completed && p.attempts < attempt {
                    // An earlier attempt completed, but the engine never heard it (its success was
                    // lost, or came after its timeout): this attempt is that one's success.
                    return self
                        .completed_before(execution, (stage, attempt), token, p, agent_id)
                        .await;
                }
                if p.attempts >= attempt || p.status.is_finished() {
                    // Written by another delivery, or ended (cancelled) meanwhile.
                    return Ok(Dispatched::Handled);
                }
            }
            let task = self.stage_task(execution, stage, attempt, (task_id, agent_id), previous.as_ref(), now);
            if self.tasks.assign(&task, token, previous.as_ref()).await? {
                self.task_changed(&task).await;
                self.progressed(execution, Some(stage)).await;
                return Ok(Dispatched::Handled);
            }
        }
        Err(unknown(anyhow::anyhow!("task {task_id} kept changing")))
    }

    /// Answers attempt `attempt` with the output an earlier attempt of the stage's task completed with,
    /// and frees the agent reserved for it.
    async fn completed_before(
        &self,
        execution: &Execution,
        (stage, attempt): (usize, u32),
        token: &str,
        task: &Task,
        agent_id: &str,
    ) -> Result<Dispatched, PipelineError> {
        let output = task.stage.as_ref().and_then(|w| w.result.clone());
        update(&self.executions, &execution.tenant, &execution.execution_id, |e| {
            let run = &mut e.stages[stage];
            if run.attempts != attempt || run.status.is_finished() {
                return ((), false);
            }
            run.output.clone_from(&output);
            run.error = None;
            ((), true)
        })
        .await?;
        self.tasks
            .release(&execution.tenant, agent_id, (&task.task_id, attempt))
            .await?;
        match self.engine.succeed(token, &json!({})).await {
            Ok(()) | Err(super::engine::TokenError::Over(_)) => Ok(Dispatched::Handled),
            Err(super::engine::TokenError::Unknown(e)) => Err(unknown(e)),
        }
    }

    /// The stage's task on `attempt`, pending for its agent: what its earlier attempts kept (its
    /// creation, first start and log lines) with the rest afresh.
    fn stage_task(
        &self,
        execution: &Execution,
        stage: usize,
        attempt: u32,
        (task_id, agent_id): (&str, &str),
        previous: Option<&Task>,
        now: DateTime<Utc>,
    ) -> Task {
        let run = &execution.stages[stage];
        let at = stamp(now);
        let fresh = || {
            Task::pending(
                task_id.to_owned(),
                execution.tenant.clone(),
                TaskType::PipelineStage,
                5,
                at.clone(),
                now.timestamp() + self.task_retention_secs,
            )
        };
        let mut task = previous.cloned().unwrap_or_else(fresh);
        task.status = TaskStatus::Pending;
        task.attempts = attempt;
        task.finished_at = None;
        task.error = None;
        task.error_code = None;
        task.user_id = Some(execution.created_by.clone());
        let logs = task.stage.take().map(|w| w.logs).unwrap_or_default();
        task.stage = Some(Box::new(StageWork {
            pipeline_id: execution.pipeline_id.clone(),
            execution_id: execution.execution_id.clone(),
            stage: run.name.clone(),
            stage_index: stage,
            stage_type: run.stage_type.clone(),
            payload: json!({"input": execution.input_of(stage), "parameters": execution.parameters}),
            timeout: run.timeout,
            retry_count: run.retry_count,
            assigned_agent: Some(agent_id.to_owned()),
            progress: 0.0,
            logs,
            result: None,
            updated_at: at,
        }));
        task
    }

    /// A stage's last attempt is over: completed (`error` `None`) or failed. Opens the gates of the
    /// stages that may start now.
    async fn stage_over(
        &self,
        tenant: &str,
        execution_id: &str,
        stage: usize,
        attempt: u32,
        error: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), PipelineError> {
        let at = stamp(now);
        let outcome = update(&self.executions, tenant, execution_id, |e| {
            if e.status.is_finished() || stage >= e.stages.len() || e.stages[stage].status.is_finished() {
                return (None, false);
            }
            let run = &mut e.stages[stage];
            run.status = if error.is_some() {
                StageStatus::Failed
            } else {
                StageStatus::Completed
            };
            run.attempts = run.attempts.max(attempt);
            run.finished_at = Some(at.clone());
            if let Some(error) = &error {
                // What a timed-out attempt left must not reach the stages after it.
                run.output = None;
                // The agent's own report, when it made one, says more than the engine's error name.
                if run.error.is_none() {
                    run.error = Some(error.clone());
                }
            }
            let task = run.task_id.clone();
            e.updated_at.clone_from(&at);
            (Some(task), true)
        })
        .await?;
        // A repeated delivery changes nothing, but opens what an earlier one may have left shut.
        self.open_ready(tenant, execution_id).await?;
        let Some((execution, Some(task))) = outcome else {
            return Ok(());
        };
        if error.is_some() {
            if let Some(task) = task {
                self.end_task(
                    tenant,
                    (&task, None),
                    TaskStatus::Failed,
                    "the stage's last attempt timed out",
                    &at,
                )
                .await;
            }
        }
        self.progressed(&execution, Some(stage)).await;
        Ok(())
    }

    /// The tasks of the execution's unfinished optional stages that completed.
    async fn completed_tasks(&self, tenant: &str, execution_id: &str) -> Result<Vec<String>, PipelineError> {
        let Some(execution) = self.executions.get(tenant, execution_id).await? else {
            return Ok(Vec::new());
        };
        let mut completed = Vec::new();
        let open = execution
            .stages
            .iter()
            .filter(|s| !s.required && !s.status.is_finished());
        for task_id in open.filter_map(|s| s.task_id.as_ref()) {
            if let Some((task, _)) = self.tasks.with_token(tenant, task_id).await? {
                if task.status == TaskStatus::Completed {
                    completed.push(task_id.clone());
                }
            }
        }
        Ok(completed)
    }

    /// The execution is over: records how, cancels what still runs, and notifies the webhook.
    async fn finished(
        &self,
        tenant: &str,
        execution_id: &str,
        succeeded: bool,
        failure: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Result<(), PipelineError> {
        let at = stamp(now);
        // The failed stage, from the cause its iteration failed with (its state, as JSON).
        let cause: Option<Value> = failure
            .and_then(|f| f["Cause"].as_str())
            .and_then(|c| serde_json::from_str(c).ok());
        let completed = if succeeded {
            self.completed_tasks(tenant, execution_id).await?
        } else {
            Vec::new()
        };
        let outcome = update(&self.executions, tenant, execution_id, |e| {
            if e.status.is_finished() {
                return (None, false);
            }
            e.finished_at = Some(at.clone());
            e.updated_at.clone_from(&at);
            // The tasks of the stages failed here, whose own message (which would end them) may still
            // be on its way, and is then ignored.
            let mut failed_here = Vec::new();
            if succeeded {
                e.status = ExecutionStatus::Succeeded;
                // The state machine ended only after every stage did; a stage's own message may
                // still be on its way. An optional stage whose task did not complete is one that
                // failed (its output may be `null`, so the task says, not the output).
                for run in e.stages.iter_mut().filter(|s| !s.status.is_finished()) {
                    let done = run.task_id.as_ref().is_some_and(|t| completed.contains(t));
                    run.status = if run.required || done {
                        StageStatus::Completed
                    } else {
                        failed_here.extend(run.task_id.clone());
                        StageStatus::Failed
                    };
                    run.finished_at = Some(at.clone());
                }
            } else {
                e.status = ExecutionStatus::Failed;
                let failed = cause
                    .as_ref()
                    .and_then(|c| c["stage"]["index"].as_u64())
                    .and_then(|i| usize::try_from(i).ok());
                let stage = failed.and_then(|i| e.stages.get_mut(i));
                let message = match stage {
                    Some(run) => {
                        let why = run
                            .error
                            .clone()
                            .or_else(|| cause.as_ref().map(|c| failure_text(&c["failure"])))
                            .unwrap_or_default();
                        if !run.status.is_finished() {
                            run.status = StageStatus::Failed;
                            run.finished_at = Some(at.clone());
                            run.error = Some(why.clone());
                            failed_here.extend(run.task_id.clone());
                        }
                        format!("stage {:?} failed after {} attempt(s): {why}", run.name, run.attempts)
                    }
                    None => failure
                        .map(failure_text)
                        .unwrap_or_else(|| "the execution failed".into()),
                };
                e.error = Some(ExecutionError {
                    stage: failed.and_then(|i| e.stages.get(i)).map(|s| s.name.clone()),
                    message,
                });
            }
            (Some((failed_here, e.cancel_unfinished(&at))), true)
        })
        .await?;
        let Some((execution, ended)) = outcome else {
            return Ok(());
        };
        // `None`: ended by an earlier delivery of this message, or by a cancel.
        if let Some((failed, cancelled)) = ended {
            for task_id in failed {
                let why = "the stage's last attempt failed or timed out";
                self.end_task(tenant, (&task_id, None), TaskStatus::Failed, why, &at)
                    .await;
            }
            for task_id in cancelled {
                self.end_task(
                    tenant,
                    (&task_id, None),
                    TaskStatus::Cancelled,
                    "the execution ended",
                    &at,
                )
                .await;
            }
            self.progressed(&execution, None).await;
        }
        // Until a delivery is recorded, every delivery of this message tries: a notification is sent
        // at least once (receivers tell repeats by `X-Mcpflow-Execution`). A cancelled execution's
        // state machine sends no `finished`, so it notifies no one.
        let ended_here = matches!(execution.status, ExecutionStatus::Succeeded | ExecutionStatus::Failed);
        if let (Some(url), None, true) = (&execution.notification.webhook, &execution.webhook_delivery, ended_here) {
            let delivery = webhook::notify(&self.webhooks, url, &execution).await;
            update(&self.executions, tenant, execution_id, |e| {
                e.webhook_delivery = Some(delivery.clone());
                ((), true)
            })
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
