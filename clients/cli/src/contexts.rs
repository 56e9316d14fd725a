//! `mcpflow contexts`: conversation contexts — create, list, read, delete, and prompt one.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::api::Api;
use crate::{pretty, read_json, show, table};

/// How long `prompt --wait` waits for the reply before it gives the task id instead.
const WAIT_FOR_REPLY: Duration = Duration::from_secs(120);

#[derive(Debug, Subcommand)]
pub enum Contexts {
    /// Creates a context and prints its id.
    Create {
        /// Its model (`GET /api/v1/mcp/models` lists them).
        #[arg(long, default_value = "local-echo")]
        model: String,
        /// A first, system node.
        #[arg(long)]
        system: Option<String>,
        /// The whole body of POST /api/v1/mcp/contexts from a JSON file, instead of the flags.
        #[arg(short, long, conflicts_with_all = ["model", "system"])]
        file: Option<PathBuf>,
    },
    /// The tenant's unexpired contexts, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        cursor: Option<String>,
    },
    /// One context with its nodes.
    Get { context_id: String },
    /// Deletes a context and all its nodes.
    Delete { context_id: String },
    /// Sends a prompt; with --wait, prints the reply once it is there (exit 1 when the task failed, 2
    /// when it was cancelled, 3 when it was still running after two minutes).
    Prompt {
        context_id: String,
        text: String,
        #[arg(long)]
        wait: bool,
    },
}

/// Runs one `contexts` command; its exit code.
///
/// # Errors
/// When mcpflow cannot be reached or refuses the request.
pub async fn run(api: &Api, command: Contexts, json_out: bool) -> anyhow::Result<i32> {
    match command {
        Contexts::Create { model, system, file } => {
            let body = match file {
                Some(file) => read_json(&file)?,
                None => {
                    let mut body = json!({"model_id": model});
                    if let Some(system) = system {
                        body["nodes"] =
                            json!([{"content": system, "content_type": "text", "metadata": {"role": "system"}}]);
                    }
                    body
                }
            };
            let made = api.post("/api/v1/mcp/contexts", &body).await?;
            show(json_out, &made, |v| {
                println!("{}", v["context_id"].as_str().unwrap_or_default())
            });
        }
        Contexts::List { limit, cursor } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(cursor.map(|c| ("cursor", c)));
            let found = api.get_query("/api/v1/mcp/contexts", &query).await?;
            show(json_out, &found, table::contexts);
        }
        Contexts::Get { context_id } => {
            show(
                json_out,
                &api.get(&format!("/api/v1/mcp/contexts/{context_id}")).await?,
                pretty,
            );
        }
        Contexts::Delete { context_id } => {
            let gone = api.delete(&format!("/api/v1/mcp/contexts/{context_id}")).await?;
            show(json_out, &gone, |_| println!("deleted {context_id}"));
        }
        Contexts::Prompt { context_id, text, wait } => {
            let path = format!("/api/v1/mcp/contexts/{context_id}/prompt");
            let accepted = api.post(&path, &json!({"prompt": text})).await?;
            let task_id = accepted["task_id"].as_str().unwrap_or_default().to_owned();
            if !wait {
                show(json_out, &accepted, |_| println!("{task_id}"));
                return Ok(0);
            }
            let task = until_finished(api, &task_id)
                .await
                .map_err(|e| e.context(format!("the reply of task {task_id} could not be read")))?;
            let ended = task["status"].as_str().and_then(crate::tasks::exit_code);
            show(json_out, &task, |t| match ended {
                Some(0) => println!("{}", t["output"].as_str().unwrap_or_default()),
                Some(_) => eprintln!("{task_id} {}: {}", t["status"], t["error"].as_str().unwrap_or("-")),
                None => eprintln!("{task_id} is still running: mcpflow tasks watch {task_id}"),
            });
            // Still running when the wait ran out: not a failure, not an answer either.
            return Ok(ended.unwrap_or(crate::watch::LOST));
        }
    }
    Ok(0)
}

/// The task once it has ended, or as it stands after [`WAIT_FOR_REPLY`].
async fn until_finished(api: &Api, task_id: &str) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_REPLY;
    loop {
        let task = api.get(&format!("/api/v1/mcp/tasks/{task_id}")).await?;
        let ended = task["status"].as_str().and_then(crate::tasks::exit_code).is_some();
        if ended || tokio::time::Instant::now() >= deadline {
            return Ok(task);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
