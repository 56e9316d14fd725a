//! How tasks and contexts look to MCP clients: status names of the MCP tools, processing times, and
//! previews of long results.

use serde_json::{json, Value};
use shared::tasks::model::{millis_between, Task, TaskStatus};
/// Characters of a result shown by `list_tasks`; `get_task_result` gives the whole of it.
pub const PREVIEW_CHARS: usize = 200;

/// The tools' status names (`PENDING`, `PROCESSING`, …) for the task statuses.
#[must_use]
pub fn status_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "PENDING",
        TaskStatus::Running => "PROCESSING",
        TaskStatus::Retrying => "RETRYING",
        TaskStatus::Completed => "COMPLETED",
        TaskStatus::Failed => "FAILED",
        TaskStatus::Cancelled => "CANCELLED",
    }
}

/// The task status of a tool status name.
#[must_use]
pub fn status_from_name(name: &str) -> Option<TaskStatus> {
    [
        TaskStatus::Pending,
        TaskStatus::Running,
        TaskStatus::Retrying,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
    ]
    .into_iter()
    .find(|s| status_name(*s) == name)
}

/// Processing time of a finished task: from its creation to its end.
#[must_use]
pub fn processing_ms(task: &Task) -> Option<i64> {
    millis_between(&task.created_at, task.finished_at.as_deref()?)
}

/// `get_task_status`: status, timestamps, and the actual processing time once finished (until then,
/// the time elapsed so far).
#[must_use]
pub fn status(task: &Task, now: &str) -> Value {
    let elapsed = if task.status.is_finished() {
        None
    } else {
        millis_between(&task.created_at, now)
    };
    json!({"task_id": task.task_id, "type": task.task_type, "status": status_name(task.status),
        "priority": task.priority, "created_at": task.created_at, "started_at": task.started_at,
        "finished_at": task.finished_at, "attempts": task.attempts, "processing_time_ms": processing_ms(task),
        "elapsed_ms": elapsed, "provider": task.provider, "model": task.model, "error": task.error})
}

fn preview(text: &str) -> String {
    if text.chars().count() <= PREVIEW_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(PREVIEW_CHARS).collect();
    format!("{cut}…")
}

/// One task of `list_tasks`, with a preview of a long result.
#[must_use]
pub fn summary(task: &Task) -> Value {
    json!({"task_id": task.task_id, "type": task.task_type, "status": status_name(task.status),
        "priority": task.priority, "created_at": task.created_at, "finished_at": task.finished_at,
        "context_id": task.context_id, "result_preview": task.output.as_deref().map(preview),
        "error": task.error})
}

/// `get_task_result` of a completed task.
#[must_use]
pub fn result(task: &Task) -> Value {
    json!({"task_id": task.task_id, "status": status_name(task.status), "result": task.output,
        "processing_time_ms": processing_ms(task), "provider": task.provider, "model": task.model,
        "usage": task.usage})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_name_that_maps_back() {
        for s in [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::Retrying,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
        ] {
            assert_eq!(status_from_name(status_name(s)), Some(s));
        }
        assert_eq!(status_from_name("DONE"), None);
    }

    #[test]
    fn times_and_previews() {
        assert_eq!(
            millis_between("2026-11-22T10:00:00.000Z", "2026-11-22T10:00:01.250Z"),
            Some(1250)
        );
        assert_eq!(preview(&"a".repeat(PREVIEW_CHARS)).chars().count(), PREVIEW_CHARS);
        assert!(preview(&"a".repeat(PREVIEW_CHARS + 1)).ends_with('…'));
    }
}
