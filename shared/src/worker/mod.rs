//! The worker's half of a prompt: take the task (conditionally), ask the model's provider chain,
//! finish the task with the reply in its reserved slot (one write). Safe under redelivery: a
//! finished task is acknowledged and left alone, a leased one is left to its owner, and the reply
//! slot is written once.
//!
//! A task asked with `stream: true` streams the provider's answer: its pieces go to a [`ChunkSink`]
//! as they arrive (gathered into one chunk while the sink is busy), numbered from 1 within each
//! attempt of the chain, and the stream's figures are kept on the task ([`StreamStats`]).

mod stream;

pub use stream::{percentile, Chunk, ChunkSink, MAX_CHUNK_BYTES};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::contexts::model::{ContentType, Context, Node};

use crate::completions::tools::{
    cut, recorded_arguments, ToolsError, MAX_CALLS_PER_ROUND, MAX_TOOL_ROUNDS, RECORDED_BYTES,
};
use crate::contexts::store::{ContextEdits, ContextStore};
use crate::conversation::errors::ConversationError;
use crate::conversation::service::{stamp, Deps};
use crate::logs::{EventKind, Level, LogEvent};
use crate::providers::registry::{CompleteError, Direct, Pieces};
use crate::providers::retry::RetryPolicy;
use crate::providers::{ChatResponse, Conversation, Message, Role, ToolOutput, ToolSpec, ToolTurn, Usage};
use crate::tasks::model::{StreamStats, Task, TaskType, TokenUsage, ToolCallRecord, ToolRound};
use crate::tasks::store::{failure, Finish, Start, TaskMessage, TaskQueue, TaskStore};

/// Longest reply asked of a provider.
pub const MAX_REPLY_TOKENS: u32 = 1024;

/// How often a running task is read again to see whether it was cancelled: a cancelled task's
/// provider call (and stream) is dropped at the next read.
pub const CANCEL_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What processing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    Completed,
    Failed,
    /// Finished before (a redelivery): acknowledge.
    AlreadyFinished,
    /// Another delivery holds a live lease: let SQS deliver it again later.
    Busy,
}

/// How long one task may run, and for how long it is leased to this delivery.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Provider calls, retries and fallbacks must end by then, or the task fails with
    /// `PROVIDER_TIMEOUT`.
    pub deadline: tokio::time::Instant,
    /// Past the deadline, so a live delivery is never taken over, yet short enough that a crashed
    /// one's task can be taken over by the next delivery.
    pub lease_ms: i64,
    pub policy: RetryPolicy,
}

fn history(context: &Context, before: u64) -> Vec<Message> {
    let role = |n: &Node| match n.role() {
        "system" => Role::System,
        "assistant" => Role::Assistant,
        _ => Role::User,
    };
    context
        .nodes
        .iter()
        .filter(|n| n.seq < before)
        .map(|n| Message {
            role: role(n),
            content: n.content.clone(),
        })
        .collect()
}

fn reply(task: &Task, seq: u64, response: &ChatResponse, now: &str) -> Node {
    let mut metadata = Map::new();
    metadata.insert("role".into(), "assistant".into());
    metadata.insert("provider".into(), Value::from(response.provider.clone()));
    metadata.insert("model".into(), Value::from(response.model.clone()));
    metadata.insert("task_id".into(), Value::from(task.task_id.clone()));
    let id = task.context_id.clone().unwrap_or_default();
    Node {
        node_id: format!("{id}-{seq}"),
        seq,
        content: response.text.clone(),
        content_type: ContentType::Text,
        metadata,
        created_at: now.to_owned(),
    }
}

impl<C: ContextStore + ContextEdits, T: TaskStore, Q: TaskQueue> Deps<C, T, Q> {
    /// Processes one queued task within its budget; a streamed task's chunks go nowhere.
    ///
    /// # Errors
    /// Only store failures (the message is then retried); provider failures fail the task.
    pub async fn process(
        &self,
        message: &TaskMessage,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<Processed, ConversationError> {
        self.process_streaming(message, now, budget, &mut ()).await
    }

    /// Processes one queued task within its budget, a streamed task's chunks going to `sink`.
    ///
    /// # Errors
    /// Only store failures (the message is then retried); provider failures fail the task.
    pub async fn process_streaming<K: ChunkSink>(
        &self,
        message: &TaskMessage,
        now: DateTime<Utc>,
        budget: Budget,
        sink: &mut K,
    ) -> Result<Processed, ConversationError> {
        let at = stamp(now);
        let task = match self
            .tasks
            .start(
                &message.tenant,
                &message.task_id,
                &at,
                now.timestamp_millis(),
                budget.lease_ms,
            )
            .await
        {
            Ok(Start::Started(task)) => task,
            Ok(Start::Finished(task)) => {
                // A delivery that finished the task may have died before publishing it: publish again
                // (a watcher may see the same state twice, never miss it).
                self.publish(&task).await;
                return Ok(Processed::AlreadyFinished);
            }
            Err(crate::conversation::store::StoreError::NotFound) => return Ok(Processed::AlreadyFinished),
            Ok(Start::Leased) => return Ok(Processed::Busy),
            Err(e) => return Err(e.into()),
        };
        self.process_started(task, now, budget, sink).await
    }

    /// Answers a task this caller started (its lease is the caller's), the chunks of a streamed one
    /// going to `sink`, and finishes it (`process_streaming` after its start, and a completion
    /// streamed by the function that took it).
    ///
    /// # Errors
    /// Only store failures; provider failures fail the task.
    pub async fn process_started<K: ChunkSink>(
        &self,
        task: Task,
        now: DateTime<Utc>,
        budget: Budget,
        sink: &mut K,
    ) -> Result<Processed, ConversationError> {
        let at = stamp(now);
        // Counting the start goes alongside the answer, never before it.
        let (answered, ()) = tokio::join!(self.answer(&task, now, budget, sink), self.started(&task, &at));
        let Answered { finish, rounds, reply } = answered?;
        let mut task = task;
        task.tool_rounds = rounds;
        let done = matches!(finish, Finish::Completed { .. });
        let at = stamp(chrono::Utc::now());
        let reply = reply.as_ref().map(|(node, expires_at)| (node, *expires_at));
        if !self.finish_and_publish(task.clone(), &at, &finish, reply).await? {
            if let Some(processed) = self.after_refused_finish(&task, &at).await? {
                return Ok(processed);
            }
        }
        Ok(if done { Processed::Completed } else { Processed::Failed })
    }

    /// Settles the task of a dead-lettered message, whatever lease a dead delivery left on it: if a
    /// delivery stored its reply before it died, the task completes with that reply (the context
    /// holds it, and later prompts were answered with it); else it fails with `DEAD_LETTERED`.
    /// `false` when the task had finished already.
    ///
    /// # Errors
    /// Store failures (the message is then retried).
    pub async fn settle_dead_lettered(
        &self,
        message: &TaskMessage,
        now: DateTime<Utc>,
    ) -> Result<bool, ConversationError> {
        let at = stamp(now);
        let Some(task) = self.take_over(message, &at).await? else {
            return Ok(false);
        };
        let finish = match self.stored_reply(&task).await? {
            Some(node) => already_answered(&node),
            None => Finish::Failed {
                code: failure::DEAD_LETTERED,
                error: "the task's message was received the maximum number of times without finishing".into(),
                stream: None,
            },
        };
        self.finish_and_publish(task, &at, &finish, None).await
    }

    /// The reply stored in a prompt's slot, if any.
    async fn stored_reply(&self, task: &Task) -> Result<Option<Node>, ConversationError> {
        let (Some(context_id), Some(seq)) = (task.context_id.as_deref(), task.reply_seq) else {
            return Ok(None);
        };
        let context = self.contexts.get(&task.tenant, context_id).await?;
        Ok(context.and_then(|c| c.nodes.into_iter().find(|n| n.seq == seq)))
    }

    /// After a prompt's finish that did not take, what became of its task (`None`: another delivery
    /// took it over after this one's lease ran out, and finishes it). Cancelled meanwhile: a reply
    /// in its slot is deleted. Still this delivery's: only the reply's write was refused, as its slot
    /// was filled meanwhile (by a worker of an earlier version, which wrote replies on their own):
    /// the task finishes now with the reply the slot holds, which later prompts may have been
    /// answered with.
    async fn after_refused_finish(&self, task: &Task, at: &str) -> Result<Option<Processed>, ConversationError> {
        let (Some(ctx), Some(seq)) = (task.context_id.as_deref(), task.reply_seq) else {
            return Ok(None);
        };
        let Some(now_task) = self.tasks.get(&task.tenant, &task.task_id).await? else {
            return Ok(None);
        };
        match now_task.status {
            crate::tasks::model::TaskStatus::Cancelled => {
                self.contexts.delete_node(&task.tenant, ctx, seq).await?;
                Ok(Some(Processed::AlreadyFinished))
            }
            crate::tasks::model::TaskStatus::Running if now_task.attempts == task.attempts => {
                let Some(node) = self.stored_reply(task).await? else {
                    return Ok(None);
                };
                let answered = already_answered(&node);
                let finished = self.finish_and_publish(task.clone(), at, &answered, None).await?;
                Ok(finished.then_some(Processed::Completed))
            }
            _ => Ok(None),
        }
    }

    /// A standalone task's answer: its messages, or its prompt alone, with the tools it offers; the
    /// reply kept on the task, and the tool rounds it took.
    ///
    /// # Errors
    /// A store failure reading the tools (the message is then retried).
    async fn answer_alone<K: ChunkSink>(
        &self,
        task: &Task,
        budget: Budget,
        sink: &mut K,
    ) -> Result<(Finish, Vec<ToolRound>), ConversationError> {
        let messages = match (&task.messages, &task.input) {
            (Some(messages), _) => messages.clone(),
            (None, Some(prompt)) => vec![Message {
                role: Role::User,
                content: prompt.clone(),
            }],
            (None, None) => return Ok((invalid("the task has no prompt".into()), Vec::new())),
        };
        let tools = match self.offered_tools(task).await? {
            Ok(tools) => tools,
            Err(why) => return Ok((invalid(why), Vec::new())),
        };
        let conversation = Conversation {
            messages,
            tools,
            turns: Vec::new(),
        };
        let model_id = task.model_id.clone().unwrap_or_else(|| self.default_model.clone());
        let sampling = task
            .integration
            .as_ref()
            .map(crate::tasks::model::IntegrationCall::sampling)
            .unwrap_or_default();
        let key = match task.integration.as_ref().and_then(|c| c.credential_secret.as_deref()) {
            Some(arn) => match self.providers.secret_key(arn).await {
                Ok(key) => Some(key),
                Err(why) => {
                    let failed = Finish::Failed {
                        code: failure::PROVIDER_FAILED,
                        error: why,
                        stream: None,
                    };
                    return Ok((failed, Vec::new()));
                }
            },
            None => None,
        };
        let direct = task.integration.as_ref().map(|call| Direct {
            provider: &call.provider,
            provider_model: &call.provider_model,
            credential_env: call.credential_env.as_deref(),
            credential_key: key.as_ref(),
            sampling: &sampling,
        });
        let max_tokens = task
            .integration
            .as_ref()
            .and_then(|call| call.max_tokens)
            .unwrap_or(MAX_REPLY_TOKENS);
        let route = Route {
            model_id: &model_id,
            direct,
            max_tokens,
        };
        let mut rounds = Vec::new();
        let finish = match self.ask(task, route, conversation, budget, sink, &mut rounds).await {
            Ok((response, stream)) => completed(response, stream),
            Err(failed) => {
                // A key refused as revoked or rotated is read again by the next call, not kept.
                if let Some(arn) = task.integration.as_ref().and_then(|c| c.credential_secret.as_deref()) {
                    self.providers.forget_secret_key(arn);
                }
                failed
            }
        };
        Ok((finish, rounds))
    }

    /// The tools a completion offers, as registered now; `Err` saying which is no longer registered.
    ///
    /// # Errors
    /// A store failure.
    async fn offered_tools(&self, task: &Task) -> Result<Result<Vec<ToolSpec>, String>, ConversationError> {
        if task.tools.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let Some(toolbox) = &self.tools else {
            return Ok(Err("this worker cannot run registered tools".into()));
        };
        match toolbox.specs(&task.tenant, &task.tools).await {
            Ok(specs) => Ok(Ok(specs)),
            Err(ToolsError::NotRegistered(name)) => Ok(Err(format!("tool {name} is no longer registered"))),
            Err(ToolsError::Store(e)) => Err(ConversationError::Unknown(e)),
        }
    }

    /// The provider chain's answer (and, streamed, how the stream went), or the failure to store:
    /// every provider failed, or the deadline came first. The task is read every
    /// [`CANCEL_CHECK_EVERY`] meanwhile: once it is cancelled, the call is dropped.
    async fn ask<K: ChunkSink>(
        &self,
        task: &Task,
        route: Route<'_>,
        conversation: Conversation,
        budget: Budget,
        sink: &mut K,
        rounds: &mut Vec<ToolRound>,
    ) -> Result<(ChatResponse, Option<Box<StreamStats>>), Finish> {
        let started = std::time::Instant::now();
        tokio::select! {
            asked = self.call(task, route, conversation, budget, sink, rounds) => asked,
            () = self.cancelled(task) => {
                self.dropped(task, started.elapsed()).await;
                Err(Finish::Failed {
                    code: failure::CANCELLED,
                    error: "cancelled while it ran".into(),
                    stream: None,
                })
            }
        }
    }

    /// Returns once the task is read as cancelled (never, while it is not).
    async fn cancelled(&self, task: &Task) {
        loop {
            tokio::time::sleep(CANCEL_CHECK_EVERY).await;
            if let Ok(Some(now)) = self.tasks.get(&task.tenant, &task.task_id).await {
                if now.status == crate::tasks::model::TaskStatus::Cancelled {
                    return;
                }
            }
        }
    }

    /// Logs that a cancelled task's provider call was dropped, `after` it began.
    async fn dropped(&self, task: &Task, after: std::time::Duration) {
        let Some(recorder) = &self.metrics else { return };
        let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        let message = format!(
            "task {} was cancelled while it ran: its provider call was dropped",
            task.task_id
        );
        let id = format!("{}.dropped", task.task_id);
        let at_ms = chrono::Utc::now().timestamp_millis();
        let event = LogEvent::new(&task.tenant, at_ms, &id, Level::Info, EventKind::Task, &message)
            .with("task_id", task.task_id.as_str())
            .with("task_type", task.task_type.as_str())
            .with("status", "cancelled")
            .with("call_ms", after_ms);
        recorder.event(event).await;
    }

    /// The provider chain's answer, as [`Self::ask`] says, without the cancel check.
    async fn call<K: ChunkSink>(
        &self,
        task: &Task,
        route: Route<'_>,
        conversation: Conversation,
        budget: Budget,
        sink: &mut K,
        rounds: &mut Vec<ToolRound>,
    ) -> Result<(ChatResponse, Option<Box<StreamStats>>), Finish> {
        if !task.stream {
            let talk = self.converse(task, route, conversation, budget.policy, None, rounds);
            let outcome = tokio::time::timeout_at(budget.deadline, talk).await;
            return outcome_of(outcome, None).map(|r| (r, None));
        }
        let (to, pieces) = tokio::sync::mpsc::unbounded_channel();
        let started = std::time::Instant::now();
        let call = self.converse(task, route, conversation, budget.policy, Some(Pieces::from(to)), rounds);
        // The call owns the sender: when it ends (or the deadline drops it), the relay drains and ends.
        let (outcome, stats) = tokio::join!(
            tokio::time::timeout_at(budget.deadline, call),
            stream::relay(task, pieces, sink, started)
        );
        let stats = Box::new(stats);
        outcome_of(outcome, Some(stats.clone())).map(|r| (r, Some(stats)))
    }

    /// Asks the provider; while the model calls offered tools, runs them, hands their answers
    /// back and asks again, at most [`MAX_TOOL_ROUNDS`] rounds, each kept in `rounds`. The answer's
    /// usage is that of every call.
    async fn converse(
        &self,
        task: &Task,
        route: Route<'_>,
        mut conversation: Conversation,
        policy: RetryPolicy,
        pieces: Option<Pieces>,
        rounds: &mut Vec<ToolRound>,
    ) -> Result<ChatResponse, Asked> {
        let mut usage = Usage::default();
        loop {
            let mut response = self
                .once(route, conversation.clone(), policy, pieces.clone())
                .await
                .map_err(Asked::Provider)?;
            usage.input_tokens += response.usage.input_tokens;
            usage.output_tokens += response.usage.output_tokens;
            response.usage = usage;
            if response.tool_calls.is_empty() || conversation.tools.is_empty() {
                return Ok(response);
            }
            if rounds.len() >= MAX_TOOL_ROUNDS {
                return Err(Asked::TooManyRounds);
            }
            let (turn, round) = self
                .run_tools(task, &conversation.tools, response, rounds.len() + 1)
                .await;
            rounds.push(round);
            conversation.turns.push(turn);
        }
    }

    /// One call of the route's provider (or chain).
    async fn once(
        &self,
        route: Route<'_>,
        conversation: Conversation,
        policy: RetryPolicy,
        pieces: Option<Pieces>,
    ) -> Result<ChatResponse, CompleteError> {
        let providers = &self.providers;
        match (&route.direct, pieces) {
            (Some(direct), pieces) => {
                providers
                    .complete_direct(direct, conversation, route.max_tokens, policy, pieces)
                    .await
            }
            (None, None) => {
                providers
                    .complete(route.model_id, conversation, route.max_tokens, policy)
                    .await
            }
            (None, Some(to)) => {
                providers
                    .stream(route.model_id, conversation, route.max_tokens, policy, to)
                    .await
            }
        }
    }

    /// Runs the calls of one round at once (at most [`MAX_CALLS_PER_ROUND`]; a tool that was not
    /// offered is not run): the turn for the model, and the round as it is kept.
    async fn run_tools(
        &self,
        task: &Task,
        offered: &[ToolSpec],
        mut response: ChatResponse,
        round: usize,
    ) -> (ToolTurn, ToolRound) {
        name_calls(&mut response.tool_calls, round);
        let runs = response.tool_calls.iter().enumerate().map(|(i, call)| async move {
            let started = std::time::Instant::now();
            let refused = |why: String| ToolOutput {
                call_id: call.id.clone(),
                content: why,
                is_error: true,
            };
            let output = match &self.tools {
                _ if i >= MAX_CALLS_PER_ROUND => refused(format!(
                    "not run: at most {MAX_CALLS_PER_ROUND} tool calls are run a round"
                )),
                _ if !offered.iter().any(|t| t.name == call.name) => {
                    refused(format!("no tool {} was offered", call.name))
                }
                None => refused("this worker cannot run registered tools".into()),
                Some(toolbox) => toolbox.run(&task.tenant, call).await,
            };
            (output, millis(started.elapsed()))
        });
        let outputs = futures::future::join_all(runs).await;
        // Kept within the task item's size: the calls run, each cut; the model's ids and names too.
        let calls = response
            .tool_calls
            .iter()
            .zip(&outputs)
            .take(MAX_CALLS_PER_ROUND)
            .map(|(call, (output, ms))| ToolCallRecord {
                id: cut(&call.id, 128),
                name: cut(&call.name, 128),
                arguments: recorded_arguments(&call.arguments),
                result: cut(&output.content, RECORDED_BYTES),
                is_error: output.is_error,
                ms: *ms,
            })
            .collect();
        let not_run = u32::try_from(outputs.len().saturating_sub(MAX_CALLS_PER_ROUND)).unwrap_or(u32::MAX);
        let turn = ToolTurn {
            text: response.text,
            calls: response.tool_calls,
            results: outputs.into_iter().map(|(output, _)| output).collect(),
        };
        let round = ToolRound {
            round: u32::try_from(round).unwrap_or(u32::MAX),
            calls,
            not_run,
        };
        (turn, round)
    }

    /// The task's finish, the tool rounds it took, and a prompt's reply for its slot.
    async fn answer<K: ChunkSink>(
        &self,
        task: &Task,
        now: DateTime<Utc>,
        budget: Budget,
        sink: &mut K,
    ) -> Result<Answered, ConversationError> {
        if task.task_type == TaskType::Completion {
            let (finish, rounds) = self.answer_alone(task, budget, sink).await?;
            return Ok(Answered {
                finish,
                rounds,
                reply: None,
            });
        }
        let (finish, reply) = self.answer_prompt(task, now, budget, sink).await?;
        Ok(Answered {
            finish,
            rounds: Vec::new(),
            reply,
        })
    }

    /// A context's prompt: the finish, with the reply node for its reserved slot (and the context's
    /// expiry), which the finish writes.
    async fn answer_prompt<K: ChunkSink>(
        &self,
        task: &Task,
        now: DateTime<Utc>,
        budget: Budget,
        sink: &mut K,
    ) -> Result<(Finish, Option<(Node, i64)>), ConversationError> {
        let (Some(context_id), Some(seq)) = (task.context_id.as_deref(), task.reply_seq) else {
            return Ok((invalid("the task has no context or reply slot".into()), None));
        };
        // The one read of the context: the history, and whether an earlier delivery that died
        // before finishing already wrote the reply (then that reply is the answer, asked once).
        let Some(context) = self.contexts.get(&task.tenant, context_id).await? else {
            return Ok((invalid(format!("context {context_id} no longer exists")), None));
        };
        if let Some(written) = context.nodes.iter().find(|n| n.seq == seq) {
            return Ok((already_answered(written), None));
        }
        let model_id = task.model_id.clone().unwrap_or_else(|| context.model_id.clone());
        let route = Route {
            model_id: &model_id,
            direct: None,
            max_tokens: MAX_REPLY_TOKENS,
        };
        let mut no_rounds = Vec::new();
        let asked = self.ask(task, route, history(&context, seq).into(), budget, sink, &mut no_rounds);
        let (response, stream) = match asked.await {
            Ok(r) => r,
            Err(failed) => return Ok((failed, None)),
        };
        let node = reply(task, seq, &response, &stamp(now));
        Ok((completed(response, stream), Some((node, context.expires_at))))
    }
}

/// What answering a task came to: its finish, the tool rounds it took, and a prompt's reply node
/// (with its context's expiry) for the finish to write.
struct Answered {
    finish: Finish,
    rounds: Vec<ToolRound>,
    reply: Option<(Node, i64)>,
}

/// Where a task's provider call goes: its model's chain, or one provider's model (an integration's).
#[derive(Clone, Copy)]
struct Route<'a> {
    model_id: &'a str,
    direct: Option<Direct<'a>>,
    max_tokens: u32,
}

/// Why a conversation with the model ended without an answer.
enum Asked {
    Provider(CompleteError),
    TooManyRounds,
}

/// A provider call's outcome within the deadline, as the answer or the failure to store.
fn outcome_of(
    outcome: Result<Result<ChatResponse, Asked>, tokio::time::error::Elapsed>,
    stream: Option<Box<StreamStats>>,
) -> Result<ChatResponse, Finish> {
    match outcome {
        Ok(Ok(response)) => Ok(response),
        Ok(Err(Asked::Provider(e))) => Err(Finish::Failed {
            code: failure::PROVIDER_FAILED,
            error: e.to_string(),
            stream,
        }),
        Ok(Err(Asked::TooManyRounds)) => Err(Finish::Failed {
            code: failure::TOOL_ROUNDS_EXCEEDED,
            error: format!("the model still called tools after {MAX_TOOL_ROUNDS} rounds of them"),
            stream,
        }),
        Err(_) => Err(Finish::Failed {
            code: failure::PROVIDER_TIMEOUT,
            error: "no answer within the task's deadline (TASK_DEADLINE_SECS): the provider, or the tools it called, took too long".into(),
            stream,
        }),
    }
}

fn invalid(error: String) -> Finish {
    Finish::Failed {
        code: failure::INVALID_TASK,
        error,
        stream: None,
    }
}

/// The finish of a task whose reply an earlier delivery stored before it died.
fn already_answered(node: &Node) -> Finish {
    let text = |k: &str| {
        node.metadata
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Finish::Completed {
        provider: text("provider"),
        model: text("model"),
        usage: TokenUsage::default(),
        output: node.content.clone(),
        stream: None,
    }
}

/// Gives a call without a usable id (missing, repeated in its round, or not 1–64 letters, digits,
/// `_` and `-`, as Anthropic and Bedrock require of the ids sent back) one of ours, `call_<round>_<i>`.
fn name_calls(calls: &mut [crate::providers::ToolCall], round: usize) {
    let mut seen = std::collections::HashSet::new();
    for (i, call) in calls.iter_mut().enumerate() {
        let usable = (1..=64).contains(&call.id.len())
            && call
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !seen.contains(&call.id);
        if !usable {
            call.id = format!("call_{round}_{i}");
        }
        seen.insert(call.id.clone());
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn completed(response: ChatResponse, stream: Option<Box<StreamStats>>) -> Finish {
    let usage = TokenUsage {
        input_tokens: response.usage.input_tokens,
        output_tokens: response.usage.output_tokens,
    };
    Finish::Completed {
        provider: response.provider,
        model: response.model,
        usage,
        output: response.text,
        stream,
    }
}
