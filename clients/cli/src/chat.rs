//! `mcpflow chat`: a conversation on a context, one line a prompt. Each reply streams in as the model
//! writes it (`completion_chunk` events of the context, over the WebSocket API); Ctrl-C while a reply
//! runs cancels its task, and Ctrl-C or end of input at the prompt ends the chat.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::api::Api;
use crate::socket::{connect, Follow};

/// How often a running reply's task is read again, in case an event was lost.
const READ_AGAIN_EVERY: Duration = Duration::from_secs(5);

/// What a chat starts from.
#[derive(Debug, Clone)]
pub struct Start {
    pub context_id: Option<String>,
    pub model_id: String,
    pub system: Option<String>,
}

/// A reply as it streams: the attempt whose text is shown and that text.
#[derive(Debug, Default)]
struct Reply {
    attempt: u64,
    shown: String,
}

impl Reply {
    /// The text to print for a chunk: a later attempt starts the text again.
    fn chunk(&mut self, attempt: u64, text: &str) -> String {
        let mut out = String::new();
        if attempt > self.attempt {
            if !self.shown.is_empty() {
                out.push_str(&format!("\n(attempt {attempt}, starting again)\n"));
            }
            self.attempt = attempt;
            self.shown.clear();
        } else if attempt < self.attempt {
            return out;
        }
        self.shown.push_str(text);
        out.push_str(text);
        out
    }

    /// What is left to print of the stored reply once the task completed: the rest, when the chunks
    /// shown are its beginning, else all of it on a line of its own.
    fn rest(&self, output: &str) -> String {
        match output.strip_prefix(self.shown.as_str()) {
            Some(rest) => rest.to_owned(),
            None => format!("\n{output}"),
        }
    }
}

fn print(text: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Creates the context, or checks the one given; its id.
async fn context(api: &Api, start: &Start) -> anyhow::Result<String> {
    if let Some(id) = &start.context_id {
        api.get(&format!("/api/v1/mcp/contexts/{id}?limit=1")).await?;
        return Ok(id.clone());
    }
    let mut body = json!({"model_id": start.model_id});
    if let Some(system) = &start.system {
        body["nodes"] = json!([{"content": system, "content_type": "text", "metadata": {"role": "system"}}]);
    }
    let made = api.post("/api/v1/mcp/contexts", &body).await?;
    Ok(made["context_id"].as_str().context("no context_id")?.to_owned())
}

/// Streams the reply of `task_id` until its task ends (or Ctrl-C cancels it).
async fn reply(api: &Api, follow: &mut Follow, interrupts: &mut Signal, task_id: &str) -> anyhow::Result<()> {
    let mut reply = Reply::default();
    let mut read_again = tokio::time::interval(READ_AGAIN_EVERY);
    read_again.tick().await;
    let finished = |task: &Value| matches!(task["status"].as_str(), Some("completed" | "failed" | "cancelled"));
    let task = loop {
        tokio::select! {
            _ = interrupts.recv() => {
                let cancelled = api.post(&format!("/api/v1/mcp/tasks/{task_id}/cancel"), &json!({})).await;
                print("\n");
                match cancelled {
                    Ok(_) => eprintln!("(task {task_id} cancelled)"),
                    Err(e) => eprintln!("(task {task_id} not cancelled: {e:#})"),
                }
                return Ok(());
            }
            _ = read_again.tick() => {
                let task = api.get(&format!("/api/v1/mcp/tasks/{task_id}")).await?;
                if finished(&task) {
                    break task;
                }
            }
            // A connection that broke leaves the reads above to finish the reply.
            event = follow.next() => {
                let data = &event["data"];
                if data["task_id"] != task_id {
                    continue;
                }
                match event["event_type"].as_str() {
                    Some("completion_chunk") => {
                        let attempt = data["attempt"].as_u64().unwrap_or(1);
                        print(&reply.chunk(attempt, data["text"].as_str().unwrap_or_default()));
                    }
                    Some("task_update") if finished(data) => break data.clone(),
                    _ => {}
                }
            }
        }
    };
    match task["status"].as_str() {
        Some("completed") => print(&format!(
            "{}\n",
            reply.rest(task["output"].as_str().unwrap_or_default())
        )),
        Some("cancelled") => {
            print("\n");
            eprintln!("(task {task_id} was cancelled)");
        }
        _ => {
            print("\n");
            eprintln!("(no reply: {})", task["error"].as_str().unwrap_or("the task failed"));
        }
    }
    Ok(())
}

/// Runs the chat until end of input or Ctrl-C at the prompt; the exit code.
///
/// # Errors
/// When mcpflow cannot be reached, refuses the context, or the WebSocket cannot be opened.
pub async fn run(api: &Api, start: Start) -> anyhow::Result<i32> {
    let context_id = context(api, &start).await?;
    let mut follow = Follow::new(connect(api, &format!("context:{context_id}")).await?);
    // One listener for the whole chat: a Ctrl-C between two waits is kept for the next one.
    let mut interrupts = signal(SignalKind::interrupt())?;
    let interactive = std::io::stdin().is_terminal();
    eprintln!("context {context_id}; a line is a prompt, Ctrl-C cancels a reply, Ctrl-D ends");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        if interactive {
            eprint!("> ");
        }
        let line = loop {
            tokio::select! {
                _ = interrupts.recv() => return Ok(130),
                line = lines.next_line() => break line?,
                // Read while the person types, so the connection heartbeats and stays open.
                _ = follow.next() => {}
            }
        };
        let Some(line) = line else { return Ok(0) };
        if line.trim().is_empty() {
            continue;
        }
        let asked = api
            .post(
                &format!("/api/v1/mcp/contexts/{context_id}/prompt"),
                &json!({"prompt": line, "stream": true}),
            )
            .await?;
        let task_id = asked["task_id"].as_str().context("no task_id")?.to_owned();
        eprintln!("(task {task_id})");
        reply(api, &mut follow, &mut interrupts, &task_id).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_attempt_starts_the_text_again_and_an_earlier_one_is_dropped() {
        let mut r = Reply::default();
        assert_eq!(r.chunk(1, "Par"), "Par");
        assert_eq!(r.chunk(2, "Paris"), "\n(attempt 2, starting again)\nParis");
        assert_eq!(r.chunk(1, "is"), "");
        assert_eq!(r.chunk(2, " it is"), " it is");
        assert_eq!(r.rest("Paris it is."), ".");
        assert_eq!(r.rest("Lyon"), "\nLyon");
    }
}
