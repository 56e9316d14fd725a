//! What each built-in tool does, over the same services as the REST API. A tool's failure (a missing
//! task, a task not yet completed, a bad argument the schema cannot express) is a message a model
//! can act on, returned as an `isError` result by the caller.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::auth::Principal;
use shared::contexts::listing::ContextListing;
use shared::contexts::store::{ContextEdits, ContextStore};
use shared::conversation::errors::ConversationError;
use shared::conversation::listing::paging;
use shared::conversation::service::{stamp, Deps};
use shared::ids::IdKind;
use shared::tasks::completion::NewTask;
use shared::tasks::listing::{TaskFilter, TaskListing};
use shared::tasks::model::{Task, TaskStatus};
use shared::tasks::store::{TaskCancel, TaskQueue, TaskStore};

use super::views;

/// The stores a tool may touch.
pub trait Stores: ContextStore + ContextEdits + ContextListing {}
impl<T: ContextStore + ContextEdits + ContextListing> Stores for T {}
/// The task stores a tool may touch.
pub trait TaskStores: TaskStore + TaskCancel + TaskListing {}
impl<T: TaskStore + TaskCancel + TaskListing> TaskStores for T {}

/// A tool failure, worded for the model that called it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailure(pub String);

impl From<ConversationError> for ToolFailure {
    fn from(e: ConversationError) -> Self {
        match e {
            ConversationError::Unknown(err) if shared::error::is_unavailable(err.as_ref()) => {
                tracing::error!(error = %format!("{err:#}"), "tool failed: a dependency is unavailable");
                Self(format!(
                    "DEPENDENCY_UNAVAILABLE: {}",
                    shared::error::UNAVAILABLE_MESSAGE
                ))
            }
            ConversationError::Unknown(err) => {
                tracing::error!(error = %err, "tool failed");
                Self("mcpflow could not complete the call; try again later".into())
            }
            other => Self(other.to_string()),
        }
    }
}

fn text<'a>(args: &'a Value, key: &str) -> &'a str {
    args[key].as_str().unwrap_or_default()
}

/// The id argument `key`, checked against its format before any I/O (the message does not repeat it).
fn id<'a>(args: &'a Value, key: &str, kind: IdKind) -> Result<&'a str, ToolFailure> {
    kind.check(text(args, key)).map_err(|e| ToolFailure(e.to_string()))
}

fn priority(args: &Value) -> u8 {
    args["priority"]
        .as_u64()
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(5)
}

fn task_ref(task: &Task) -> Value {
    json!({"task_id": task.task_id, "status": views::status_name(task.status)})
}

/// Runs the built-in tool `name` with arguments already checked against its schema.
///
/// # Errors
/// [`ToolFailure`] with a message for the model.
pub async fn call<C: Stores, T: TaskStores, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    name: &str,
    args: &Value,
    now: DateTime<Utc>,
) -> Result<Value, ToolFailure> {
    match name {
        "create_task" => create_task(deps, principal, args, now).await,
        "get_task_status" => Ok(views::status(
            &deps.task(principal, id(args, "task_id", IdKind::Task)?, now).await?,
            &stamp(now),
        )),
        "list_tasks" => list_tasks(deps, principal, args, now).await,
        "get_task_result" => task_result(deps, principal, id(args, "task_id", IdKind::Task)?, now).await,
        "cancel_task" => Ok(task_ref(
            &deps
                .cancel_task(principal, id(args, "task_id", IdKind::Task)?, now)
                .await?,
        )),
        "create_context" => create_context(deps, principal, args, now).await,
        "get_context" => Ok(json!(
            deps.context(principal, id(args, "context_id", IdKind::Context)?, now)
                .await?
        )),
        "add_prompt" => add_prompt(deps, principal, args, now).await,
        "delete_context" => {
            let context_id = id(args, "context_id", IdKind::Context)?;
            deps.delete_context(principal, context_id, now).await?;
            Ok(json!({"context_id": context_id, "deleted": true}))
        }
        other => Err(ToolFailure(format!("no tool {other}"))),
    }
}

async fn create_task<C: Stores, T: TaskStores, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    args: &Value,
    now: DateTime<Utc>,
) -> Result<Value, ToolFailure> {
    let new = NewTask {
        prompt: text(args, "prompt").to_owned(),
        model: args["model"].as_str().map(str::to_owned),
        priority: priority(args),
        provider: args["provider"].as_str().map(str::to_owned),
    };
    Ok(task_ref(&deps.create_task(principal, new, now).await?))
}

async fn add_prompt<C: Stores, T: TaskStores, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    args: &Value,
    now: DateTime<Utc>,
) -> Result<Value, ToolFailure> {
    let body = json!({"prompt": text(args, "prompt"), "priority": priority(args)});
    let context_id = id(args, "context_id", IdKind::Context)?;
    Ok(task_ref(&deps.add_prompt(principal, context_id, &body, now).await?))
}

async fn create_context<C: Stores, T: TaskStores, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    args: &Value,
    now: DateTime<Utc>,
) -> Result<Value, ToolFailure> {
    let mut body = json!({"metadata": args.get("metadata").cloned().unwrap_or_else(|| json!({}))});
    for key in ["model_id", "user_id"] {
        if let Some(v) = args.get(key) {
            body[key] = v.clone();
        }
    }
    if let Some(system) = args.get("system_prompt") {
        body["nodes"] = json!([{"content": system, "metadata": {"role": "system"}}]);
    }
    let (context, _) = deps.create_context(principal, &body, now).await?;
    Ok(json!(context))
}

async fn task_result<C: Stores, T: TaskStores, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Value, ToolFailure> {
    let task = deps.task(principal, id, now).await?;
    match task.status {
        TaskStatus::Completed => Ok(views::result(&task)),
        TaskStatus::Failed => Err(ToolFailure(format!(
            "task {id} is FAILED: {}",
            task.error.as_deref().unwrap_or("no reason recorded")
        ))),
        other => Err(ToolFailure(format!(
            "task {id} is {}, not COMPLETED; poll get_task_status until it is",
            views::status_name(other)
        ))),
    }
}

/// Newest first. Two ways to page: `cursor` (the `next_cursor` of the page before), or `offset`
/// (read through pages of 100; answered with `next_offset`).
async fn list_tasks<C: Stores, T: TaskStores, Q: TaskQueue>(
    deps: &Deps<C, T, Q>,
    principal: &Principal,
    args: &Value,
    now: DateTime<Utc>,
) -> Result<Value, ToolFailure> {
    let now = now.timestamp();
    let filter = TaskFilter {
        status: args["status"].as_str().and_then(views::status_from_name),
        ..TaskFilter::default()
    };
    let limit = args["limit"].as_u64().map_or(10, |l| usize::try_from(l).unwrap_or(10));
    let offset = args["offset"].as_u64().map_or(0, |o| usize::try_from(o).unwrap_or(0));
    let (_, mut after) = paging(None, args["cursor"].as_str())?;
    if offset == 0 {
        let page = deps
            .list_tasks(principal, &filter, limit, after.as_deref(), now)
            .await?;
        let tasks: Vec<Value> = page.items.iter().map(views::summary).collect();
        return Ok(json!({"tasks": tasks, "next_cursor": page.next_cursor}));
    }
    let mut seen: Vec<Task> = Vec::new();
    let mut more = true;
    while more && seen.len() < offset + limit + 1 {
        let page = deps.list_tasks(principal, &filter, 100, after.as_deref(), now).await?;
        seen.extend(page.items);
        after = page
            .next_cursor
            .map(|c| paging(None, Some(&c)))
            .transpose()?
            .and_then(|(_, a)| a);
        more = after.is_some();
    }
    let tasks: Vec<Value> = seen.iter().skip(offset).take(limit).map(views::summary).collect();
    let next_offset = (seen.len() > offset + limit).then_some(offset + limit);
    Ok(json!({"tasks": tasks, "next_cursor": null, "next_offset": next_offset}))
}
