//! `POST /api/v1/tasks`: one stage of a pipeline, run on its own. The brief's Submit Task names a
//! pipeline, one of its stages, a payload, a priority, a timeout and retries; mcpflow runs it as an
//! execution of that one stage, on the same state machine, agents and agent protocol as a whole
//! pipeline, and answers the stage's task, pending, whose id stays the same over every attempt.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::definition::{MAX_RETRIES, MAX_STAGE_TIMEOUT_SECS};
use super::engine::Engine;
use super::executions::store::ExecutionStore;
use super::executions::{ExecuteRequest, Execution, StageStatus, MAX_INPUT_BYTES};
use super::runs::Runs;
use super::store::PipelineStore;
use super::{invalid, PipelineError};
use crate::auth::Principal;
use crate::conversation::service::stamp;
use crate::tasks::model::{parse_priority, StageWork, Task, TaskStatus, TaskType};
use crate::tasks::stages::StageTasks;

/// Which stage: its index (from 0, as in `dependencies`) or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageRef {
    Index(usize),
    Name(String),
}

/// A checked Submit Task body.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitRequest {
    pub pipeline_id: String,
    pub stage: StageRef,
    /// The stage's type, when the caller named it: it must be the stage's.
    pub stage_type: Option<String>,
    pub payload: Value,
    pub priority: u8,
    pub timeout: Option<u64>,
    pub retry_count: Option<u64>,
}

const FIELDS: [&str; 7] = [
    "pipeline_id",
    "stage",
    "type",
    "payload",
    "priority",
    "timeout",
    "retry_count",
];

fn whole(
    obj: &Map<String, Value>,
    field: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, PipelineError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().filter(|n| range.contains(n)).map(Some).ok_or_else(|| {
            invalid(
                field,
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            )
        }),
    }
}

/// Checks a Submit Task body: `pipeline_id` and `stage` required; `payload` any JSON up to
/// [`MAX_INPUT_BYTES`]; `priority` high|medium|low or 1–10; `timeout` 2 s to a day; `retry_count`
/// up to [`MAX_RETRIES`].
///
/// # Errors
/// [`PipelineError::Invalid`] naming the wrong field.
pub fn submit_request(body: &Value) -> Result<SubmitRequest, PipelineError> {
    let obj = body
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(k, format!("unknown field; expected {}", FIELDS.join(", "))));
    }
    let pipeline_id = match obj.get("pipeline_id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(invalid("pipeline_id", "is required: the id of one of your pipelines")),
    };
    let stage = match obj.get("stage") {
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|i| usize::try_from(i).ok())
            .map(StageRef::Index)
            .ok_or_else(|| invalid("stage", "must be a stage index (from 0) or a stage name"))?,
        Some(Value::String(name)) if !name.is_empty() => StageRef::Name(name.clone()),
        _ => {
            return Err(invalid(
                "stage",
                "is required: the stage's index (from 0, as in dependencies) or its name",
            ))
        }
    };
    let stage_type = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(invalid("type", "must be the stage's type")),
    };
    let payload = obj.get("payload").cloned().unwrap_or(Value::Null);
    if payload.to_string().len() > MAX_INPUT_BYTES {
        return Err(invalid("payload", format!("is larger than {MAX_INPUT_BYTES} bytes")));
    }
    let priority = parse_priority(obj.get("priority")).map_err(|m| invalid("priority", m))?;
    Ok(SubmitRequest {
        pipeline_id,
        stage,
        stage_type,
        payload,
        priority,
        timeout: whole(obj, "timeout", 2..=MAX_STAGE_TIMEOUT_SECS)?,
        retry_count: whole(obj, "retry_count", 0..=MAX_RETRIES)?,
    })
}

impl<P: PipelineStore, X: ExecutionStore, E: Engine, A, T: StageTasks> Runs<P, X, E, A, T> {
    /// `POST /tasks`: writes the stage's task (pending), then starts an execution of that one stage
    /// with `payload` as its input. The task is answered; its execution is named on it.
    ///
    /// # Errors
    /// A wrong field, [`PipelineError::NotFound`], a store or engine failure (the task and its
    /// execution are then recorded as failed).
    pub async fn submit(&self, who: &Principal, body: &Value, now: DateTime<Utc>) -> Result<Task, PipelineError> {
        let request = submit_request(body)?;
        let pipeline = super::get(&self.pipelines, who, &request.pipeline_id).await?;
        let stages = &pipeline.definition.stages;
        let index = match &request.stage {
            StageRef::Index(i) if *i < stages.len() => *i,
            StageRef::Index(i) => {
                return Err(invalid(
                    "stage",
                    format!(
                        "pipeline {} has no stage {i} (it has {})",
                        pipeline.pipeline_id,
                        stages.len()
                    ),
                ))
            }
            StageRef::Name(name) => stages.iter().position(|s| &s.name == name).ok_or_else(|| {
                invalid(
                    "stage",
                    format!("pipeline {} has no stage named {name:?}", pipeline.pipeline_id),
                )
            })?,
        };
        let stage = &stages[index];
        if let Some(t) = request.stage_type.as_ref().filter(|t| **t != stage.stage_type) {
            return Err(invalid(
                "type",
                format!(
                    "stage {index} ({:?}) is of type {}, not {t}",
                    stage.name, stage.stage_type
                ),
            ));
        }
        let at = stamp(now);
        let now_ms = now.timestamp_millis();
        let execution_id = crate::ids::new_id("exe", now_ms)?;
        let task_id = crate::ids::new_id("task", now_ms)?;
        let request_of = ExecuteRequest {
            input_data: request.payload.clone(),
            parameters: json!({}),
            notification: super::executions::Notification::default(),
        };
        let mut execution = Execution::new(&pipeline, execution_id, request_of, &who.subject, &at);
        // Only this stage, depending on nothing, with the caller's timeout and retries.
        let mut run = execution.stages.swap_remove(index);
        run.depends_on.clear();
        run.status = StageStatus::Pending;
        // Its one stage is the whole run: an optional stage that fails must fail the run too.
        run.required = true;
        if let Some(timeout) = request.timeout {
            run.timeout = timeout;
            run.heartbeat = run.heartbeat.min(timeout - 1);
        }
        if let Some(retries) = request.retry_count {
            run.retry_count = retries;
        }
        run.task_id = Some(task_id.clone());
        execution.stages = vec![run];
        execution.submitted_task = Some(task_id.clone());
        let task = self.submitted_task(&execution, task_id, request.priority, &at, now);
        if !self.tasks.add(&task).await? {
            return Err(PipelineError::Unknown(anyhow::anyhow!(
                "task id {} taken",
                task.task_id
            )));
        }
        match self.start(who, execution, now).await {
            Ok(_) => {
                self.task_changed(&task).await;
                Ok(task)
            }
            Err(e) => {
                let why = "the workflow engine did not start the task's execution";
                self.end_task(&who.tenant, (&task.task_id, None), TaskStatus::Failed, why, &at)
                    .await;
                Err(e)
            }
        }
    }

    fn submitted_task(
        &self,
        execution: &Execution,
        task_id: String,
        priority: u8,
        at: &str,
        now: DateTime<Utc>,
    ) -> Task {
        let run = &execution.stages[0];
        Task {
            user_id: Some(execution.created_by.clone()),
            stage: Some(Box::new(StageWork {
                pipeline_id: execution.pipeline_id.clone(),
                execution_id: execution.execution_id.clone(),
                stage: run.name.clone(),
                stage_index: 0,
                stage_type: run.stage_type.clone(),
                payload: json!({"input": execution.input_data, "parameters": execution.parameters}),
                timeout: run.timeout,
                retry_count: run.retry_count,
                // No agent yet: the dispatcher assigns its first attempt.
                assigned_agent: None,
                progress: 0.0,
                logs: Vec::new(),
                result: None,
                updated_at: at.to_owned(),
            })),
            ..Task::pending(
                task_id,
                execution.tenant.clone(),
                TaskType::PipelineStage,
                priority,
                at.to_owned(),
                now.timestamp() + self.task_retention_secs,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_briefs_submit_body_is_read_and_wrong_fields_are_named() {
        let body = json!({"pipeline_id": "pln_1", "stage": 1, "type": "data-ingestion",
            "payload": {"data_source": "s3://bucket/data.csv", "parameters": {"format": "csv"}},
            "priority": "high", "timeout": 300, "retry_count": 3});
        let r = submit_request(&body).unwrap();
        assert_eq!(
            (r.stage, r.stage_type.as_deref(), r.priority, r.timeout, r.retry_count),
            (StageRef::Index(1), Some("data-ingestion"), 8, Some(300), Some(3))
        );
        let named = submit_request(&json!({"pipeline_id": "pln_1", "stage": "ingest"})).unwrap();
        assert_eq!(
            (named.stage, named.payload, named.priority),
            (StageRef::Name("ingest".into()), Value::Null, 5)
        );
        for (bad, field) in [
            (json!({"stage": 0}), "pipeline_id"),
            (json!({"pipeline_id": "p"}), "stage"),
            (json!({"pipeline_id": "p", "stage": -1}), "stage"),
            (json!({"pipeline_id": "p", "stage": 0, "timeout": 1}), "timeout"),
            (
                json!({"pipeline_id": "p", "stage": 0, "retry_count": 99}),
                "retry_count",
            ),
            (
                json!({"pipeline_id": "p", "stage": 0, "priority": "urgent"}),
                "priority",
            ),
            (json!({"pipeline_id": "p", "stage": 0, "owner": "me"}), "owner"),
        ] {
            match submit_request(&bad) {
                Err(PipelineError::Invalid { field: f, .. }) => assert_eq!(f, field, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
