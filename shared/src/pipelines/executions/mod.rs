//! Executions: one run of a pipeline. Step Functions drives it (`infra/statemachines/pipeline.asl.json`,
//! one generic state machine for every pipeline) while the record here says where it stands. The
//! state machine carries ids only; inputs and outputs live in this record, so no payload nears the
//! 256 KiB limit. The record is one item, `TENANT#<tenant>` / `EXEC#<execution id>`, changed only by
//! a conditional write on its `version`, so the parallel stages of one execution never lose an update.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::definition::Stage;
use super::Pipeline;

pub mod dynamodb;
pub mod store;

/// Largest `input_data`, serialized.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// Largest `parameters`, serialized.
pub const MAX_PARAMETERS_BYTES: usize = 8 * 1024;
/// Largest output a stage may return, serialized: the record of 20 stages (their outputs, errors and
/// gate tokens) with the input and parameters stays under DynamoDB's 400 KB item. Larger data goes to
/// S3 and the output names it.
pub const MAX_OUTPUT_BYTES: usize = 12 * 1024;
/// Largest error message an agent may report, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl ExecutionStatus {
    #[must_use]
    pub fn is_finished(self) -> bool {
        self != Self::Running
    }
}

/// Where one stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// Its dependencies are not done yet.
    Waiting,
    /// Ready, and waiting for a capable agent.
    Pending,
    /// Given to an agent, not claimed yet.
    Assigned,
    Running,
    /// An attempt failed; the next one starts after the backoff.
    Retrying,
    Completed,
    Failed,
    Cancelled,
}

impl StageStatus {
    #[must_use]
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// One stage of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRun {
    pub name: String,
    #[serde(rename = "type")]
    pub stage_type: String,
    pub required: bool,
    pub depends_on: Vec<usize>,
    pub timeout: u64,
    pub heartbeat: u64,
    pub retry_count: u64,
    pub status: StageStatus,
    /// Attempts started so far.
    pub attempts: u32,
    /// The task of the latest attempt.
    pub task_id: Option<String>,
    pub agent_id: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub output: Option<Value>,
    pub error: Option<String>,
}

/// Where the caller is told the execution finished.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub webhook: Option<String>,
    /// Stored and shown, never sent: mcpflow sends no email.
    pub email: Option<String>,
    /// The key the webhook's signature is made with: the caller's, or one made for it and answered
    /// once by execute. Never shown afterwards.
    pub secret: Option<String>,
}

/// How the webhook delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub delivered: bool,
    pub attempts: u32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub at: String,
}

/// Why an execution failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionError {
    pub stage: Option<String>,
    pub message: String,
}

/// One run of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub execution_id: String,
    pub pipeline_id: String,
    #[serde(skip)]
    pub tenant: String,
    pub pipeline_name: String,
    pub status: ExecutionStatus,
    pub input_data: Value,
    pub parameters: Value,
    pub notification: Notification,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    pub error: Option<ExecutionError>,
    pub stages: Vec<StageRun>,
    /// The Step Functions execution, once started.
    pub execution_arn: Option<String>,
    /// Task tokens of the gates of stages still waiting for their dependencies, by stage index.
    #[serde(default)]
    pub gates: BTreeMap<usize, String>,
    pub webhook_delivery: Option<Delivery>,
    /// For a task submitted on its own (`POST /api/v1/tasks`): its id. Such an execution has that
    /// one stage only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_task: Option<String>,
    /// The record's version: each write expects the one it read.
    #[serde(skip)]
    pub version: u64,
}

/// What `POST /pipelines/{id}/execute` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteRequest {
    pub input_data: Value,
    pub parameters: Value,
    pub notification: Notification,
}

/// Checks an execute body: `input_data` (any JSON, up to [`MAX_INPUT_BYTES`]), `parameters` (an
/// object, up to [`MAX_PARAMETERS_BYTES`]), `notification` (`webhook` URL, `email`).
///
/// # Errors
/// A `(field, message)` naming what is wrong.
pub fn execute_request(body: &Value, allow_http: bool) -> Result<ExecuteRequest, (String, String)> {
    let bad = |f: &str, m: &str| (f.to_owned(), m.to_owned());
    let obj = body.as_object().ok_or_else(|| bad("body", "must be a JSON object"))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["input_data", "parameters", "notification"].contains(&k.as_str()))
    {
        return Err(bad(k, "unknown field; expected input_data, parameters or notification"));
    }
    let input_data = obj.get("input_data").cloned().unwrap_or(Value::Null);
    if input_data.to_string().len() > MAX_INPUT_BYTES {
        return Err(bad("input_data", &format!("is larger than {MAX_INPUT_BYTES} bytes")));
    }
    let parameters = match obj.get("parameters") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) if p.to_string().len() <= MAX_PARAMETERS_BYTES => p.clone(),
        Some(Value::Object(_)) => {
            return Err(bad(
                "parameters",
                &format!("is larger than {MAX_PARAMETERS_BYTES} bytes"),
            ))
        }
        Some(_) => return Err(bad("parameters", "must be a JSON object")),
    };
    let notification = match obj.get("notification") {
        None | Some(Value::Null) => Notification::default(),
        Some(Value::Object(n)) => notification(n, allow_http)?,
        Some(_) => return Err(bad("notification", "must be a JSON object")),
    };
    Ok(ExecuteRequest {
        input_data,
        parameters,
        notification,
    })
}

fn notification(n: &Map<String, Value>, allow_http: bool) -> Result<Notification, (String, String)> {
    let bad = |f: &str, m: String| (f.to_owned(), m);
    if let Some(k) = n.keys().find(|k| !["webhook", "email", "secret"].contains(&k.as_str())) {
        return Err(bad(
            &format!("notification.{k}"),
            "unknown field; expected webhook, email or secret".into(),
        ));
    }
    let text = |k: &str, max: usize| match n.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= max => Ok(Some(s.clone())),
        Some(_) => Err(bad(
            &format!("notification.{k}"),
            format!("must be a string of 1 to {max} bytes"),
        )),
    };
    let webhook = text("webhook", 2048)?;
    if let Some(url) = &webhook {
        crate::registered::endpoint::check_url(url, allow_http).map_err(|m| bad("notification.webhook", m))?;
    }
    let email = text("email", 254)?;
    if email.as_ref().is_some_and(|e| !e.contains('@')) {
        return Err(bad("notification.email", "must be an email address".into()));
    }
    let mut secret = text("secret", 256)?;
    if secret.as_ref().is_some_and(|s| s.len() < 16) {
        return Err(bad("notification.secret", "must be at least 16 bytes".into()));
    }
    if webhook.is_some() && secret.is_none() {
        secret = Some(
            super::webhook::new_secret().map_err(|e| bad("notification", format!("no secret could be made: {e}")))?,
        );
    }
    Ok(Notification { webhook, email, secret })
}

impl Execution {
    /// A new running execution of `pipeline`, every stage waiting (or pending, with no dependencies).
    #[must_use]
    pub fn new(pipeline: &Pipeline, id: String, request: ExecuteRequest, created_by: &str, now: &str) -> Self {
        let stages = pipeline.definition.stages.iter().map(stage_run).collect();
        Self {
            execution_id: id,
            pipeline_id: pipeline.pipeline_id.clone(),
            tenant: pipeline.tenant.clone(),
            pipeline_name: pipeline.definition.name.clone(),
            status: ExecutionStatus::Running,
            input_data: request.input_data,
            parameters: request.parameters,
            notification: request.notification,
            created_by: created_by.to_owned(),
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            finished_at: None,
            error: None,
            stages,
            execution_arn: None,
            gates: BTreeMap::new(),
            webhook_delivery: None,
            submitted_task: None,
            version: 0,
        }
    }

    /// The state machine's input: ids and each stage's timings, nothing else.
    #[must_use]
    pub fn machine_input(&self) -> Value {
        let gate_timeout = self.gate_timeout();
        let stages: Vec<Value> = self
            .stages
            .iter()
            .enumerate()
            .map(|(index, s)| {
                json!({"index": index, "name": s.name, "deps": s.depends_on.len(), "required": s.required,
                    "timeout": s.timeout, "heartbeat": s.heartbeat, "retry_count": s.retry_count,
                    "gate_timeout": gate_timeout})
            })
            .collect();
        json!({"tenant": self.tenant, "execution_id": self.execution_id, "stages": stages})
    }

    /// How long a stage may wait for its dependencies: every stage's every attempt and backoff, one
    /// after another, with a minute to spare.
    #[must_use]
    pub fn gate_timeout(&self) -> u64 {
        let all: u64 = self
            .stages
            .iter()
            .map(|s| s.timeout * (s.retry_count + 1) + (1 << (s.retry_count + 1)))
            .sum();
        all + 60
    }

    /// Whether stage `index` may start: every stage it depends on completed, or failed without being
    /// required.
    #[must_use]
    pub fn ready(&self, index: usize) -> bool {
        self.stages[index].depends_on.iter().all(|&d| {
            let dep = &self.stages[d];
            dep.status == StageStatus::Completed || (dep.status == StageStatus::Failed && !dep.required)
        })
    }

    /// The gates that may open now: their stages and tokens. A token stays in the record until its
    /// gate is known to be open, so a failed or repeated delivery opens it again.
    #[must_use]
    pub fn ready_gates(&self) -> Vec<(usize, String)> {
        if self.status.is_finished() {
            return Vec::new();
        }
        self.gates
            .iter()
            .filter(|(&i, _)| self.ready(i))
            .map(|(&i, t)| (i, t.clone()))
            .collect()
    }

    /// What stage `index` works on: the execution's `input_data` when it depends on nothing, the
    /// output of the one stage it depends on, or the outputs of several by stage name.
    #[must_use]
    pub fn input_of(&self, index: usize) -> Value {
        let deps = &self.stages[index].depends_on;
        match deps.as_slice() {
            [] => self.input_data.clone(),
            [one] => self.stages[*one].output.clone().unwrap_or(Value::Null),
            many => Value::Object(
                many.iter()
                    .map(|&d| {
                        (
                            self.stages[d].name.clone(),
                            self.stages[d].output.clone().unwrap_or(Value::Null),
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// Finished stages over all stages.
    #[must_use]
    pub fn progress(&self) -> f64 {
        let done = self.stages.iter().filter(|s| s.status.is_finished()).count();
        (done as f64) / (self.stages.len().max(1) as f64)
    }

    /// The execution as the API answers it: no task tokens, with `progress`, `current_stages` and
    /// `completed_stages`.
    #[must_use]
    pub fn view(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("gates");
            o.remove("execution_arn");
            if let Some(n) = o.get_mut("notification").and_then(Value::as_object_mut) {
                n.remove("secret");
            }
            let names = |f: &dyn Fn(&StageRun) -> bool| -> Vec<String> {
                self.stages.iter().filter(|s| f(s)).map(|s| s.name.clone()).collect()
            };
            o.insert("progress".into(), json!(self.progress()));
            o.insert(
                "current_stages".into(),
                json!(names(&|s| !s.status.is_finished() && s.status != StageStatus::Waiting)),
            );
            o.insert(
                "completed_stages".into(),
                json!(names(&|s| s.status == StageStatus::Completed)),
            );
        }
        v
    }

    /// As [`Self::view`] without what can be large: the input, the parameters and each stage's
    /// output (`GET` of the one execution has them). What a listing shows.
    #[must_use]
    pub fn summary(&self) -> Value {
        let mut v = self.view();
        if let Some(o) = v.as_object_mut() {
            o.remove("input_data");
            o.remove("parameters");
            if let Some(stages) = o.get_mut("stages").and_then(Value::as_array_mut) {
                for stage in stages.iter_mut().filter_map(Value::as_object_mut) {
                    stage.remove("output");
                }
            }
        }
        v
    }

    /// The `pipeline_progress` event of this moment.
    #[must_use]
    pub fn progress_event(&self, stage: Option<usize>) -> Value {
        let mut v = json!({"pipeline_id": self.pipeline_id, "execution_id": self.execution_id,
            "status": self.status, "progress": self.progress(), "error": self.error});
        if let Some(i) = stage {
            let s = &self.stages[i];
            v["stage"] = json!({"index": i, "name": s.name, "status": s.status, "attempts": s.attempts,
                "agent_id": s.agent_id, "task_id": s.task_id, "error": s.error});
        }
        v
    }

    /// Ends every stage not finished yet as cancelled; the tasks of those that had one.
    pub fn cancel_unfinished(&mut self, now: &str) -> Vec<String> {
        let mut tasks = Vec::new();
        for s in &mut self.stages {
            if !s.status.is_finished() {
                s.status = StageStatus::Cancelled;
                s.finished_at = Some(now.to_owned());
                tasks.extend(s.task_id.clone());
            }
        }
        self.gates.clear();
        tasks
    }
}

fn stage_run(s: &Stage) -> StageRun {
    StageRun {
        name: s.name.clone(),
        stage_type: s.stage_type.clone(),
        required: s.required,
        depends_on: s.depends_on.clone(),
        timeout: s.timeout,
        heartbeat: if s.heartbeat == 0 {
            s.timeout
                .saturating_sub(1)
                .clamp(1, super::definition::DEFAULT_HEARTBEAT_SECS)
        } else {
            s.heartbeat
        },
        retry_count: s.retry_count,
        status: if s.depends_on.is_empty() {
            StageStatus::Pending
        } else {
            StageStatus::Waiting
        },
        attempts: 0,
        task_id: None,
        agent_id: None,
        started_at: None,
        finished_at: None,
        output: None,
        error: None,
    }
}

#[cfg(test)]
mod tests;
