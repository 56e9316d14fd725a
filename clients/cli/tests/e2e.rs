//! The `mcpflow` binary against the local stack, as a person or a script runs it: `make test` runs
//! these with `--ignored`, with reference agents serving in this process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use mcpflow_agent::run::{serve, Options};
use mcpflow_agent::storage::Storage;
use mcpflow_agent::Agent;
use serde_json::{json, Value};

const NEEDS_STACK: &str = "needs the local stack: run `make test`";

fn gateway_url() -> String {
    let port = std::env::var("GATEWAY_PORT").unwrap_or_else(|_| "3000".into());
    std::env::var("GATEWAY_URL").unwrap_or_else(|_| format!("http://127.0.0.1:{port}"))
}

/// An admin JWT of a tenant no other run has used, signed with the test stack's secret.
fn fresh_admin() -> String {
    let secret = std::env::var("MCPFLOW_TEST_JWT_SECRET").unwrap_or_else(|_| panic!("{NEEDS_STACK}"));
    let tenant = format!("cli-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let claims = json!({"sub": format!("admin@{tenant}"), "iss": std::env::var("MCPFLOW_TEST_JWT_ISSUER").unwrap_or_default(),
        "aud": "mcpflow", "exp": chrono_now() + 600, "tenant": tenant, "role": "admin"});
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    // `make test` checks that no token its tests made shows up in a log.
    if let Ok(file) = std::env::var("MCPFLOW_TEST_SECRETS_FILE") {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
        f.write_all(format!("{token}\n").as_bytes()).unwrap();
    }
    token
}

fn chrono_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A directory of this test's own: its saved login and its files.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcpflow-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a run of the binary printed and how it exited.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `mcpflow args…` with the key in the environment and its login file in `dir`.
async fn mcpflow(dir: &Path, key: &str, args: &[&str]) -> Ran {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpflow"))
        .args(args)
        .env("MCPFLOW_URL", gateway_url())
        .env("MCPFLOW_KEY", key)
        .env("MCPFLOW_CONFIG", dir.join("config.json"))
        .env_remove("MCPFLOW_WS_URL")
        .output()
        .await
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One reference agent per stage type of the tenant, serving until the test ends.
async fn reference_agents(admin: &str) -> Vec<Agent> {
    let storage = Storage::from_env(true).await;
    let stop = Arc::new(AtomicBool::new(false));
    let options = Options {
        heartbeat_every: Duration::from_secs(1),
        claim_wait_secs: 20,
        progress_every: Duration::from_secs(1),
    };
    let bearer = format!("Bearer {admin}");
    let mut agents = Vec::new();
    for kind in shared::pipelines::definition::STAGE_TYPES {
        let agent = Agent::register(
            &gateway_url(),
            ("authorization", &bearer),
            &format!("ref-{kind}"),
            &[kind.into()],
        )
        .await
        .unwrap();
        tokio::spawn(serve(agent.clone(), Some(storage.clone()), options, stop.clone()));
        agents.push(agent);
    }
    agents
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.display().to_string()
}

/// The brief's six-stage pipeline, as `events/` has it.
fn brief() -> Value {
    let event: Value = serde_json::from_str(include_str!("../../../events/pipelines-create/brief.json")).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

/// The brief's pipeline defined through `mcpflow pipelines create -f`, and an input file for it:
/// the pipeline's id and the file.
async fn briefs_pipeline(dir: &Path, admin: &str) -> (String, String) {
    let made = mcpflow(
        dir,
        admin,
        &["pipelines", "create", "-f", &write(dir, "p.json", &brief())],
    )
    .await;
    assert_eq!(made.code, 0, "{}", made.stderr);
    let pipeline = made.stdout.trim().to_owned();
    assert!(pipeline.starts_with("pln_"), "{}", made.stdout);
    let input = json!({"source": "inline", "records": [{"name": "ada", "qty": 2}]});
    (pipeline, write(dir, "in.json", &input))
}

/// `mcpflow chat args…` started with its input, output and errors piped.
fn chat(dir: &Path, admin: &str, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpflow"))
        .arg("chat")
        .args(args)
        .env("MCPFLOW_URL", gateway_url())
        .env("MCPFLOW_KEY", admin)
        .env("MCPFLOW_CONFIG", dir.join("config.json"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_person_defines_the_briefs_pipeline_runs_it_and_watches_every_stage_complete() {
    // GIVEN a fresh tenant with one reference agent per stage type
    let (dir, admin) = (scratch(), fresh_admin());
    let agents = reference_agents(&admin).await;
    // WHEN the brief's pipeline is defined from a file and run with --watch
    let (pipeline, input) = briefs_pipeline(&dir, &admin).await;
    let run = mcpflow(
        &dir,
        &admin,
        &["pipelines", "run", &pipeline, "--input", &input, "--watch"],
    )
    .await;
    // THEN it exits 0 once the execution succeeded, having shown each stage completed
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    for stage in brief()["stages"].as_array().unwrap() {
        let name = stage["name"].as_str().unwrap();
        assert!(
            run.stdout.contains(&format!("stage {name}: completed")),
            "{name} not shown completed:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.lines().last().unwrap().ends_with("succeeded"),
        "{}",
        run.stdout
    );
    // AND each stage task's log lines, under the stage's name
    for stage in brief()["stages"].as_array().unwrap() {
        let (name, kind) = (stage["name"].as_str().unwrap(), stage["type"].as_str().unwrap());
        let line = format!("  {name} [info] started {kind} (attempt 1)");
        assert!(run.stdout.contains(&line), "no {line:?} in:\n{}", run.stdout);
    }
    // AND the agents table lists each agent, active
    let listed = mcpflow(&dir, &admin, &["agents", "list"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.starts_with("ID "), "{}", listed.stdout);
    for agent in &agents {
        let row = listed.stdout.lines().find(|l| l.starts_with(&agent.agent_id));
        assert!(row.is_some_and(|r| r.contains(" active ")), "{}", listed.stdout);
    }
    // AND --json gives scripts the same as the API
    let json = mcpflow(&dir, &admin, &["--json", "pipelines", "list"]).await;
    let listed: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(listed["pipelines"][0]["pipeline_id"], pipeline.as_str());
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_failing_execution_exits_non_zero_naming_its_stage_and_a_refusal_shows_its_request_id() {
    // GIVEN a one-stage pipeline whose ingestion reads an object that does not exist
    let (dir, admin) = (scratch(), fresh_admin());
    let _agents = reference_agents(&admin).await;
    let body = json!({"name": "missing", "stages": [{"name": "ingest", "type": "data-ingestion", "timeout": 30}]});
    let made = mcpflow(
        &dir,
        &admin,
        &["pipelines", "create", "-f", &write(&dir, "p.json", &body)],
    )
    .await;
    let pipeline = made.stdout.trim().to_owned();
    let input = write(
        &dir,
        "in.json",
        &json!({"source": "s3://no-such-bucket-mcpflow/none.csv"}),
    );
    // WHEN it is run with --watch
    let run = mcpflow(
        &dir,
        &admin,
        &["pipelines", "run", &pipeline, "--input", &input, "--watch"],
    )
    .await;
    // THEN it exits 1, the stage shown failed and the error naming it
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stage ingest: failed"), "{}", run.stdout);
    assert!(run.stderr.contains("stage \"ingest\" failed"), "{}", run.stderr);
    // AND a refused call prints the envelope's code, message and request id, exiting 1
    let unknown = mcpflow(&dir, &admin, &["pipelines", "get", "pln_0000000000000000000000000000"]).await;
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("404 PIPELINE_NOT_FOUND") && unknown.stderr.contains("request id"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn login_checks_the_key_and_saves_it_for_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, admin) = (scratch(), fresh_admin());
    // WHEN a wrong key logs in THEN nothing is saved
    let refused = mcpflow(&dir, "mcpf_0000000000000000_wrong", &["login"]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(!dir.join("config.json").exists());
    // WHEN a valid one does THEN it is saved 0600, and later commands need no key
    let ok = mcpflow(&dir, &admin, &["login"]).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let mode = std::fs::metadata(dir.join("config.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpflow"))
        .args(["pipelines", "list"])
        .env("MCPFLOW_CONFIG", dir.join("config.json"))
        .env_remove("MCPFLOW_URL")
        .env_remove("MCPFLOW_KEY")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack and tmux"]
async fn on_a_terminal_the_watch_draws_one_bar_per_stage_and_leaves_them_at_their_end() {
    // GIVEN the brief's pipeline, its agents, and a 120×24 tmux pane
    let (dir, admin) = (scratch(), fresh_admin());
    let _agents = reference_agents(&admin).await;
    let (pipeline, input) = briefs_pipeline(&dir, &admin).await;
    let session = format!("mcpflow-cli-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let command = format!(
        "env MCPFLOW_URL={} MCPFLOW_KEY={admin} MCPFLOW_CONFIG={} {} pipelines run {pipeline} --input {input} --watch; echo \"exit $?\"; sleep 120",
        gateway_url(),
        dir.join("config.json").display(),
        env!("CARGO_BIN_EXE_mcpflow"),
    );
    let tmux = |args: &[&str]| std::process::Command::new("tmux").args(args).output().unwrap();
    let started = tmux(&["new-session", "-d", "-s", &session, "-x", "120", "-y", "24", &command]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    // WHEN it runs to the end
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let screen = loop {
        let shown = String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", &session]).stdout).into_owned();
        if shown.contains("exit ") || tokio::time::Instant::now() > deadline {
            break shown;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    tmux(&["kill-session", "-t", &session]);
    let capture = dir.join("watch-screen.txt");
    std::fs::write(&capture, &screen).unwrap();
    // THEN the screen shows each stage's full bar, completed, and the exit code 0 (kept in `capture`)
    assert!(screen.contains("exit 0"), "{}:\n{screen}", capture.display());
    for stage in brief()["stages"].as_array().unwrap() {
        let name = stage["name"].as_str().unwrap();
        let bar = format!("{name} [========================] completed");
        assert!(
            screen.lines().any(|l| l.trim_start().starts_with(&bar)),
            "no completed bar for {name} in {}:\n{screen}",
            capture.display()
        );
    }
    // AND no line-by-line output is mixed into the bars on a terminal
    assert!(!screen.contains(&format!("stage {}: ", brief()["stages"][0]["name"].as_str().unwrap())));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_chat_answers_each_line_on_one_context_and_ends_with_its_input() {
    use tokio::io::AsyncWriteExt;
    // GIVEN a chat on a new local-echo context
    let (dir, admin) = (scratch(), fresh_admin());
    let mut child = chat(&dir, &admin, &[]);
    // WHEN two lines are typed and the input ends
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"What is the capital of France?\nAnd of Italy?\n")
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // THEN each line got its reply, the second one computed from the whole conversation, and it exits 0
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let replies: Vec<&str> = stdout.lines().filter(|l| l.starts_with("[local stand-in")).collect();
    assert_eq!(replies.len(), 2, "{stdout}");
    assert!(replies[0].ends_with("What is the capital of France?"), "{stdout}");
    assert!(
        replies[1].contains("3 message(s) received") && replies[1].ends_with("And of Italy?"),
        "{stdout}"
    );
    assert!(stderr.starts_with("context ctx_"), "{stderr}");
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn ctrl_c_during_a_streamed_reply_cancels_its_task_and_the_chat_goes_on() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // GIVEN a chat on the slow stand-in, whose reply streams a word every 0.5 s
    let (dir, admin) = (scratch(), fresh_admin());
    let mut child = chat(&dir, &admin, &["--model", "standin"]);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let words = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
    stdin
        .write_all(format!("[chunk-delay 0.5] {words}\n").as_bytes())
        .await
        .unwrap();
    // WHEN the first words of the reply have arrived (so it streams: the task is still running)
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !seen.contains("standin:") {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout_at(deadline, stdout.read(&mut buf))
            .await
            .expect("no words streamed within 30 s")
            .unwrap();
        assert!(n > 0, "stdout closed before any word: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // AND Ctrl-C is pressed
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // THEN its task is cancelled, not the chat (it ends with its input, exit 0), and the reply stopped
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let task_id = stderr
        .split("(task ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no task in {stderr}"))
        .to_owned();
    assert!(stderr.contains(&format!("(task {task_id} cancelled)")), "{stderr}");
    let task: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/mcp/tasks/{task_id}", gateway_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(task["status"], "cancelled", "{task}");
    let rest = String::from_utf8_lossy(&out.stdout);
    assert!(
        !format!("{seen}{rest}").contains("fourteen"),
        "the reply went on: {seen}{rest}"
    );
}

/// A registered tool's endpoint: answers every `POST /tool` with `{"echo": <the JSON it was sent>}`.
async fn echo_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tool", listener.local_addr().unwrap());
    let echo = |axum::Json(body): axum::Json<Value>| async move { axum::Json(json!({"echo": body})) };
    let app = axum::Router::new().route("/tool", axum::routing::post(echo));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_context_is_made_and_prompted_and_its_tasks_listed_watched_and_a_finished_one_not_cancelled() {
    let (dir, admin) = (scratch(), fresh_admin());
    // GIVEN a context made from the command line
    let made = mcpflow(
        &dir,
        &admin,
        &["contexts", "create", "--model", "local-echo", "--system", "Be brief."],
    )
    .await;
    assert_eq!(made.code, 0, "{}", made.stderr);
    let context = made.stdout.trim().to_owned();
    assert!(context.starts_with("ctx_"), "{}", made.stdout);
    // WHEN it is prompted and the reply waited for: THEN the reply is printed
    let replied = mcpflow(&dir, &admin, &["contexts", "prompt", &context, "Say hello", "--wait"]).await;
    assert_eq!(replied.code, 0, "{}", replied.stderr);
    assert!(!replied.stdout.trim().is_empty(), "no reply printed");
    // WHEN it is prompted without waiting and the task watched: THEN the watch ends with it, exit 0
    let sent = mcpflow(&dir, &admin, &["contexts", "prompt", &context, "Again"]).await;
    let task = sent.stdout.trim().to_owned();
    assert!(task.starts_with("task_"), "{}", sent.stdout);
    let watched = mcpflow(&dir, &admin, &["tasks", "watch", &task]).await;
    assert_eq!(watched.code, 0, "{}\n{}", watched.stdout, watched.stderr);
    assert!(
        watched.stdout.lines().any(|l| l.starts_with("completed")),
        "{}",
        watched.stdout
    );
    assert!(watched.stdout.contains("result:"), "{}", watched.stdout);
    // AND the tasks list shows it, as a table and as JSON
    let listed = mcpflow(&dir, &admin, &["tasks", "list", "--limit", "10"]).await;
    assert!(
        listed.stdout.starts_with("ID") && listed.stdout.contains(&task),
        "{}",
        listed.stdout
    );
    let as_json = mcpflow(&dir, &admin, &["--json", "tasks", "list", "--status", "completed"]).await;
    let page: Value = serde_json::from_str(&as_json.stdout).unwrap();
    assert!(page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["task_id"] == task.as_str()));
    // AND cancelling a finished task is refused with its code and request id, exit 1
    let cancel = mcpflow(&dir, &admin, &["tasks", "cancel", &task]).await;
    assert_eq!(cancel.code, 1);
    assert!(
        cancel.stderr.contains("409 TASK_ALREADY_FINISHED") && cancel.stderr.contains("request id"),
        "{}",
        cancel.stderr
    );
    // AND the context is listed, read with its nodes, and deleted
    let contexts = mcpflow(&dir, &admin, &["contexts", "list"]).await;
    assert!(contexts.stdout.contains(&context), "{}", contexts.stdout);
    let read = mcpflow(&dir, &admin, &["--json", "contexts", "get", &context]).await;
    let nodes = serde_json::from_str::<Value>(&read.stdout).unwrap()["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        nodes, 5,
        "the system node, two prompts and two replies: {}",
        read.stdout
    );
    let deleted = mcpflow(&dir, &admin, &["contexts", "delete", &context]).await;
    assert_eq!(
        (deleted.code, deleted.stdout.trim()),
        (0, format!("deleted {context}").as_str())
    );
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn tools_prompts_and_resources_are_registered_from_files_listed_called_and_removed() {
    let (dir, admin) = (scratch(), fresh_admin());
    // GIVEN a tool, a prompt and a resource, each in a file
    let tool = json!({"name": "echo_it", "description": "Echoes its arguments", "endpoint": echo_endpoint().await,
        "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}});
    let prompt = json!({"name": "greet", "description": "A greeting", "template": "Hello {{who}}!",
        "arguments": [{"name": "who", "description": "whom", "required": true}]});
    let resource = json!({"uri": "note://cli/first", "name": "first", "description": "a note",
        "mime_type": "text/plain", "content": "remember the milk"});
    for (kind, body) in [("tools", &tool), ("prompts", &prompt), ("resources", &resource)] {
        let file = write(&dir, &format!("{kind}.json"), body);
        // WHEN each is registered: THEN it is listed
        let made = mcpflow(&dir, &admin, &[kind, "register", "-f", &file]).await;
        assert_eq!(made.code, 0, "{kind}: {}", made.stderr);
        let listed = mcpflow(&dir, &admin, &[kind, "list"]).await;
        let name = body.get("uri").unwrap_or(&body["name"]).as_str().unwrap();
        assert!(listed.stdout.contains(name), "{kind}: {}", listed.stdout);
    }
    // WHEN the tool is called: THEN its endpoint's answer is printed; bad arguments are refused
    let called = mcpflow(
        &dir,
        &admin,
        &["tools", "call", "echo_it", "--args", r#"{"word": "ping"}"#],
    )
    .await;
    assert_eq!(called.code, 0, "{}", called.stderr);
    assert!(called.stdout.contains("\"ping\""), "{}", called.stdout);
    let refused = mcpflow(&dir, &admin, &["tools", "call", "echo_it", "--args", "{}"]).await;
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("400 "), "{}", refused.stderr);
    // AND the prompt renders with its argument, and the resource reads back by its URI
    let rendered = mcpflow(
        &dir,
        &admin,
        &["prompts", "call", "greet", "--args", r#"{"who": "Ada"}"#],
    )
    .await;
    assert!(
        rendered.stdout.contains("Hello Ada!"),
        "{}\n{}",
        rendered.stdout,
        rendered.stderr
    );
    let read = mcpflow(&dir, &admin, &["resources", "get", "note://cli/first"]).await;
    assert!(
        read.stdout.contains("remember the milk"),
        "{}\n{}",
        read.stdout,
        read.stderr
    );
    // AND each is removed, after which reading it is a 404
    for (kind, name) in [
        ("tools", "echo_it"),
        ("prompts", "greet"),
        ("resources", "note://cli/first"),
    ] {
        let gone = mcpflow(&dir, &admin, &[kind, "delete", name]).await;
        assert_eq!(gone.code, 0, "{kind}: {}", gone.stderr);
        let again = mcpflow(&dir, &admin, &[kind, "get", name]).await;
        assert!(
            again.code == 1 && again.stderr.contains("404 "),
            "{kind}: {}",
            again.stderr
        );
    }
}
