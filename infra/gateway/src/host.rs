//! Runs functions as Lambda does, for the event sources whose timing matters: each instance is the
//! function's own bootstrap process talking to a Lambda Runtime API of its own; an instance runs one
//! invocation at a time, up to a maximum of instances per function; an invocation that passes the
//! function's `Timeout` is killed with its process (as Lambda does) and answered as a timeout; a
//! crashed process is an error and is replaced. For chaos tests it can kill invocations at random.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::invoke::{InvokeError, Invoker};

/// One function the host runs.
#[derive(Debug, Clone)]
pub struct HostedFunction {
    pub name: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub max_instances: usize,
    /// Whether the host's [`Chaos`] may kill its invocations (event-source functions; an HTTP
    /// function's caller would only see a 502).
    pub chaos: bool,
}

/// Random kills of running invocations, for chaos tests: each invocation is killed with probability
/// `kill_rate`, at a random moment within [`CHAOS_WINDOW`] of its start (if it is still running).
#[derive(Debug, Clone, Copy, Default)]
pub struct Chaos {
    pub kill_rate: f64,
}

/// The functions it runs, by name.
#[derive(Debug)]
pub struct FunctionHost {
    pools: HashMap<String, Arc<Pool>>,
    chaos: Chaos,
}

#[derive(Debug)]
struct Pool {
    def: HostedFunction,
    idle: Mutex<Vec<Instance>>,
    slots: Arc<Semaphore>,
}

/// A running bootstrap process and its Runtime API.
#[derive(Debug)]
struct Instance {
    child: Child,
    invocations: mpsc::Sender<Invocation>,
    api: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.api.abort();
        let _ = self.child.start_kill();
    }
}

#[derive(Debug)]
struct Invocation {
    request_id: String,
    payload: Vec<u8>,
    deadline_ms: i64,
    reply: oneshot::Sender<Reply>,
}

#[derive(Debug)]
enum Reply {
    Response(Vec<u8>),
    Error(Vec<u8>),
    /// A response in streaming mode: its prelude (status and headers, as JSON), the body's chunks
    /// as they come, and the end of the invocation (the body's end).
    Stream {
        prelude: Vec<u8>,
        body: mpsc::Receiver<Bytes>,
        done: oneshot::Receiver<()>,
    },
}

/// What a streaming invocation answered: a whole response (the function did not stream), or a
/// streamed one's prelude and its body as it comes.
#[derive(Debug)]
pub enum Streamed {
    Buffered(Vec<u8>),
    Stream {
        prelude: Vec<u8>,
        body: mpsc::Receiver<Bytes>,
    },
}

/// What one invocation came to.
enum Outcome {
    Replied(Reply),
    TimedOut,
    Killed,
    Exited,
}

impl FunctionHost {
    #[must_use]
    pub fn new(functions: Vec<HostedFunction>, chaos: Chaos) -> Self {
        let pools = functions
            .into_iter()
            .map(|def| {
                let slots = Arc::new(Semaphore::new(def.max_instances.max(1)));
                let pool = Pool {
                    def,
                    idle: Mutex::new(Vec::new()),
                    slots,
                };
                (pool.def.name.clone(), Arc::new(pool))
            })
            .collect();
        Self { pools, chaos }
    }

    /// The function's pool, one of its slots (held until the invocation ends) and an instance: an
    /// idle one, or a new process.
    async fn checkout(&self, function: &str) -> Result<(&Arc<Pool>, OwnedSemaphorePermit, Instance), InvokeError> {
        let unreachable = |reason: String| InvokeError::Unreachable {
            function: function.to_owned(),
            reason,
        };
        let pool = self
            .pools
            .get(function)
            .ok_or_else(|| unreachable("not a hosted function".into()))?;
        let slot = Arc::clone(&pool.slots)
            .acquire_owned()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let idle = pool.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
        let instance = match idle {
            Some(i) => i,
            None => spawn(&pool.def).await.map_err(|e| unreachable(format!("{e:#}")))?,
        };
        Ok((pool, slot, instance))
    }

    /// Whether it runs this function.
    #[must_use]
    pub fn runs(&self, function: &str) -> bool {
        self.pools.contains_key(function)
    }
}

impl Invoker for FunctionHost {
    #[tracing::instrument(skip(self, payload), fields(bytes = payload.len()))]
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let (pool, _slot, mut instance) = self.checkout(function).await?;
        let outcome = run(
            &mut instance,
            &pool.def,
            payload,
            kill_after(
                if pool.def.chaos { self.chaos } else { Chaos::default() },
                pool.def.timeout,
            ),
        )
        .await;
        let failed = |payload: String| InvokeError::Function {
            function: function.to_owned(),
            kind: "Unhandled".into(),
            payload,
        };
        match outcome {
            Outcome::Replied(reply) => {
                let answer = match reply {
                    Reply::Response(body) => Ok(body),
                    Reply::Error(body) => Err(failed(String::from_utf8_lossy(&body).into_owned())),
                    Reply::Stream { .. } => {
                        // Not a caller that takes a stream: the instance is left to finish and dies.
                        return Err(failed("the function streamed its response to a buffered invoke".into()));
                    }
                };
                if let Ok(mut idle) = pool.idle.lock() {
                    idle.push(instance);
                }
                answer
            }
            Outcome::TimedOut => Err(failed(format!(
                "Task timed out after {} seconds",
                pool.def.timeout.as_secs_f64()
            ))),
            Outcome::Killed => Err(failed("the instance was killed mid-invocation (chaos)".into())),
            Outcome::Exited => Err(failed("Runtime exited before answering".into())),
        }
    }
}

impl FunctionHost {
    /// Invokes `function` as a function URL in `RESPONSE_STREAM` mode does: a function that streams
    /// (`Lambda-Runtime-Function-Response-Mode: streaming`) is answered by its prelude as soon as it
    /// is written, then its body chunk by chunk; the instance stays busy until the body ends, and is
    /// killed at the function's timeout as any invocation is.
    ///
    /// # Errors
    /// As [`Invoker::invoke`], until the prelude; a failure after it ends the body early.
    pub async fn invoke_streaming(&self, function: &str, payload: Vec<u8>) -> Result<Streamed, InvokeError> {
        let (pool, slot, mut instance) = self.checkout(function).await?;
        let started = tokio::time::Instant::now();
        let failed = |payload: String| InvokeError::Function {
            function: function.to_owned(),
            kind: "Unhandled".into(),
            payload,
        };
        match run(&mut instance, &pool.def, payload, None).await {
            Outcome::Replied(Reply::Response(body)) => {
                if let Ok(mut idle) = pool.idle.lock() {
                    idle.push(instance);
                }
                Ok(Streamed::Buffered(body))
            }
            Outcome::Replied(Reply::Error(body)) => {
                if let Ok(mut idle) = pool.idle.lock() {
                    idle.push(instance);
                }
                Err(failed(String::from_utf8_lossy(&body).into_owned()))
            }
            Outcome::Replied(Reply::Stream { prelude, body, done }) => {
                let pool = Arc::clone(pool);
                let until = started + pool.def.timeout;
                tokio::spawn(async move {
                    let _slot = slot;
                    tokio::select! {
                        ended = done => {
                            if ended.is_ok() {
                                if let Ok(mut idle) = pool.idle.lock() {
                                    idle.push(instance);
                                }
                            }
                        }
                        () = tokio::time::sleep_until(until) => {
                            tracing::warn!(function = %pool.def.name, "streaming invocation timed out: killed");
                            let _ = instance.child.start_kill();
                        }
                        _ = instance.child.wait() => {}
                    }
                });
                Ok(Streamed::Stream { prelude, body })
            }
            Outcome::TimedOut => Err(failed(format!(
                "Task timed out after {} seconds",
                pool.def.timeout.as_secs_f64()
            ))),
            Outcome::Killed => Err(failed("the instance was killed mid-invocation (chaos)".into())),
            Outcome::Exited => Err(failed("Runtime exited before answering".into())),
        }
    }
}

/// The largest response a synchronously invoked function may give.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// Chaos kills land within this much of an invocation's start (or its timeout, if shorter): most
/// invocations end within seconds, so a moment anywhere before the timeout would rarely hit one.
pub const CHAOS_WINDOW: Duration = Duration::from_secs(2);

/// When chaos kills this invocation, if it does.
fn kill_after(chaos: Chaos, timeout: Duration) -> Option<Duration> {
    let roll = |bits: u128| (bits & 0xFFFF_FFFF) as f64 / f64::from(u32::MAX);
    let bits = uuid::Uuid::new_v4().as_u128();
    (roll(bits) < chaos.kill_rate).then(|| timeout.min(CHAOS_WINDOW).mul_f64(roll(bits >> 64).min(0.99)))
}

/// Hands the payload to the instance and waits for its answer, its timeout, a chaos kill or its exit.
async fn run(instance: &mut Instance, def: &HostedFunction, payload: Vec<u8>, kill: Option<Duration>) -> Outcome {
    let (reply, answer) = oneshot::channel();
    let invocation = Invocation {
        request_id: uuid::Uuid::new_v4().to_string(),
        payload,
        deadline_ms: chrono::Utc::now().timestamp_millis() + i64::try_from(def.timeout.as_millis()).unwrap_or(0),
        reply,
    };
    if instance.invocations.send(invocation).await.is_err() {
        return Outcome::Exited;
    }
    let chaos = async {
        match kill {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        answer = answer => answer.map_or(Outcome::Exited, Outcome::Replied),
        () = tokio::time::sleep(def.timeout) => { let _ = instance.child.start_kill(); Outcome::TimedOut }
        () = chaos => { let _ = instance.child.start_kill(); Outcome::Killed }
        _ = instance.child.wait() => Outcome::Exited,
    }
}

/// Starts a Runtime API on a free loopback port and the function's process against it.
async fn spawn(def: &HostedFunction) -> anyhow::Result<Instance> {
    let (invocations, next) = mpsc::channel(1);
    let state = Arc::new(RuntimeApi {
        next: tokio::sync::Mutex::new(next),
        pending: Mutex::new(HashMap::new()),
        arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{}", def.name),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        // Lambda takes a response of up to 6 MB (axum's default limit would refuse one over 2 MB).
        .layer(axum::extract::DefaultBodyLimit::max(MAX_RESPONSE_BYTES))
        .with_state(state);
    let api = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let child = Command::new(&def.binary)
        .envs(def.env.iter().map(|(k, v)| (k, v)))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &def.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", def.name))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", def.binary.display()))?;
    Ok(Instance {
        child,
        invocations,
        api,
    })
}

/// One instance's Runtime API state.
struct RuntimeApi {
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    arn: String,
}

async fn next_invocation(State(api): State<Arc<RuntimeApi>>) -> Result<(HeaderMap, Vec<u8>), StatusCode> {
    let invocation = api.next.lock().await.recv().await.ok_or(StatusCode::GONE)?;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &invocation.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &api.arn);
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0",
    );
    set("content-type", "application/json");
    if let Ok(mut pending) = api.pending.lock() {
        pending.insert(invocation.request_id.clone(), invocation.reply);
    }
    Ok((headers, invocation.payload))
}

fn answer(api: &RuntimeApi, id: &str, reply: Reply) -> StatusCode {
    let sender = api.pending.lock().ok().and_then(|mut p| p.remove(id));
    match sender {
        Some(sender) => {
            let _ = sender.send(reply);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// What separates a streamed response's prelude from its body.
const PRELUDE_END: [u8; 8] = [0; 8];

async fn response(
    State(api): State<Arc<RuntimeApi>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> StatusCode {
    let streaming = headers
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|m| m.as_bytes().eq_ignore_ascii_case(b"streaming"));
    if !streaming {
        return match axum::body::to_bytes(body, MAX_RESPONSE_BYTES).await {
            Ok(body) => answer(&api, &id, Reply::Response(body.to_vec())),
            Err(_) => StatusCode::PAYLOAD_TOO_LARGE,
        };
    }
    let mut frames = body.into_data_stream();
    let mut head = Vec::new();
    let rest = loop {
        match futures::StreamExt::next(&mut frames).await {
            Some(Ok(chunk)) => {
                head.extend_from_slice(&chunk);
                if let Some(at) = head.windows(PRELUDE_END.len()).position(|w| w == PRELUDE_END) {
                    break head.split_off(at).split_off(PRELUDE_END.len());
                }
            }
            // The body ended (or broke) before its prelude did: no HTTP response to give.
            _ => {
                return answer(
                    &api,
                    &id,
                    Reply::Error(b"the streamed response has no prelude".to_vec()),
                )
            }
        }
    };
    let (chunks, body) = mpsc::channel(16);
    let (ended, done) = oneshot::channel();
    let status = answer(
        &api,
        &id,
        Reply::Stream {
            prelude: head,
            body,
            done,
        },
    );
    if !rest.is_empty() {
        let _ = chunks.send(Bytes::from(rest)).await;
    }
    // Forwarded as they come, until the function ends the body (a caller gone does not stop it:
    // the function runs on, as on Lambda).
    let clean = loop {
        match futures::StreamExt::next(&mut frames).await {
            Some(Ok(chunk)) => {
                let _ = chunks.send(chunk).await;
            }
            None => break true,
            // The function died mid-body: its instance is not given back.
            Some(Err(_)) => break false,
        }
    };
    drop(chunks);
    if clean {
        let _ = ended.send(());
    }
    status
}

async fn error(State(api): State<Arc<RuntimeApi>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, Reply::Error(body.to_vec()))
}

async fn init_error(body: Bytes) -> StatusCode {
    tracing::error!(error = %String::from_utf8_lossy(&body), "function init failed");
    StatusCode::ACCEPTED
}

/// Reads a `KEY='value'` environment file as `provision` writes it.
///
/// # Errors
/// When the file cannot be read.
pub fn read_env_file(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect())
}

#[cfg(test)]
mod tests;
