//! `mcpflow`: the command line for a deployed mcpflow.
//!
//! `mcpflow login` saves where mcpflow is and the key to call it with; `agents`, `pipelines`,
//! `tasks`, `contexts`, `tools`, `prompts` and `resources` call the REST API, `chat` streams replies
//! and `pipelines run --watch` follows an execution live over the WebSocket API. `mcpflow admin create-key` is the one-off bootstrap of a tenant's first admin key,
//! straight into the table (`make dev` runs it against DynamoDB Local; in AWS run it once with
//! credentials that may write the table). The key is printed once and never stored.

mod api;
mod chat;
mod config;
mod contexts;
mod registered;
mod socket;
mod table;
mod tasks;
mod watch;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use shared::auth::Role;
use shared::aws::AwsClients;
use shared::keys::admin::issue_key;
use shared::keys::dynamodb::DynamoDbKeyStore;
use shared::tenant::TenantId;

use crate::api::Api;

#[derive(Debug, Parser)]
#[command(name = "mcpflow", about = "The mcpflow command line", version)]
struct Cli {
    /// The HTTP API (default: MCPFLOW_URL, then the saved login).
    #[arg(long, global = true)]
    url: Option<String>,
    /// The WebSocket API (default: MCPFLOW_WS_URL, the saved login, or a local stack's next port).
    #[arg(long, global = true)]
    ws_url: Option<String>,
    /// An API key or a JWT (default: MCPFLOW_KEY, then the saved login).
    #[arg(long, global = true)]
    key: Option<String>,
    /// Print JSON, for scripts, instead of tables and lines.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks a URL and key against mcpflow and saves them (readable by you only).
    Login,
    /// A conversation: each line you type is a prompt, and the reply streams in as the model writes it.
    Chat(ChatArgs),
    /// The tenant's agents.
    #[command(subcommand)]
    Agents(Agents),
    /// Pipelines: define, list, run and watch them.
    #[command(subcommand)]
    Pipelines(Pipelines),
    /// Tasks: AI tasks and pipeline stages alike.
    #[command(subcommand)]
    Tasks(tasks::Tasks),
    /// Conversation contexts: create, list, read, delete, prompt.
    #[command(subcommand)]
    Contexts(contexts::Contexts),
    /// Registered tools: register from a file, list, read, call, remove.
    #[command(subcommand)]
    Tools(registered::Registered),
    /// Registered prompts: register from a file, list, read, render (call), remove.
    #[command(subcommand)]
    Prompts(registered::Registered),
    /// Registered resources: register from a file, list, read, remove.
    #[command(subcommand)]
    Resources(registered::Registered),
    /// Operations that go straight to the stack's resources, with AWS credentials.
    #[command(subcommand)]
    Admin(Admin),
    /// Prints a shell's completion script: `mcpflow completions bash > ~/.local/share/bash-completion/completions/mcpflow`.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Args)]
struct ChatArgs {
    /// Go on with this context (default: a new one).
    #[arg(long)]
    context: Option<String>,
    /// The model of a new context (`GET /api/v1/mcp/models` lists them).
    #[arg(long, default_value = "local-echo")]
    model: String,
    /// A system message for a new context.
    #[arg(long)]
    system: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Agents {
    /// A table of the agents: status, load, seconds since their last heartbeat, capabilities.
    List(ListAgents),
}

#[derive(Debug, Args)]
struct ListAgents {
    /// active, stale or inactive.
    #[arg(long)]
    status: Option<String>,
    /// A stage type or tag the agents must have.
    #[arg(long)]
    capability: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Pipelines {
    /// Defines a pipeline from a JSON file (the body of POST /api/v1/pipelines).
    Create {
        #[arg(short, long)]
        file: PathBuf,
    },
    /// The tenant's pipelines.
    List,
    /// One pipeline's definition.
    Get { pipeline_id: String },
    /// Starts an execution; with --watch, follows it to the end (exit 0 succeeded, 1 failed, 2 cancelled).
    Run(Run),
    /// Where an execution stands.
    Execution { pipeline_id: String, execution_id: String },
}

#[derive(Debug, Args)]
struct Run {
    pipeline_id: String,
    /// A JSON file: the execution's input_data.
    #[arg(long)]
    input: Option<PathBuf>,
    /// A JSON file: the execution's parameters (an object).
    #[arg(long)]
    params: Option<PathBuf>,
    /// Follow the execution stage by stage until it ends.
    #[arg(long)]
    watch: bool,
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Creates an API key in the table and prints it once, as JSON.
    CreateKey(CreateKey),
}

#[derive(Debug, Args)]
struct CreateKey {
    /// The stack's DynamoDB table (its `TableName` output).
    #[arg(long)]
    table: String,
    /// The tenant the key belongs to (`^[a-z0-9][a-z0-9_-]{0,62}$`).
    #[arg(long, value_parser = tenant_arg)]
    tenant: TenantId,
    /// admin, operator, agent or viewer.
    #[arg(long, default_value = "admin", value_parser = role_arg)]
    role: Role,
    /// A name to recognise the key by in listings.
    #[arg(long, default_value = "bootstrap")]
    name: String,
}

/// The `--tenant` value, refused (naming the pattern) unless it is a valid tenant.
fn tenant_arg(value: &str) -> Result<TenantId, String> {
    TenantId::try_from(value).map_err(|e| format!("{value:?} is refused: {e}"))
}

fn role_arg(value: &str) -> Result<Role, String> {
    value.parse::<Role>().map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() {
    socket::choose_tls_provider();
    let cli = Cli::parse();
    match dispatch(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("mcpflow: {e:#}");
            std::process::exit(1);
        }
    }
}

pub(crate) fn read_json(file: &PathBuf) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// Prints `value` indented, for people.
pub(crate) fn pretty(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Prints `value` as JSON, or as `render` shows it to people.
pub(crate) fn show(json_out: bool, value: &Value, render: impl FnOnce(&Value)) {
    if json_out {
        println!("{value}");
    } else {
        render(value);
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Admin(Admin::CreateKey(args)) => {
            create_key(args).await?;
            return Ok(0);
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "mcpflow", &mut std::io::stdout());
            return Ok(0);
        }
        _ => {}
    }
    let target = config::resolve(cli.url, cli.ws_url, cli.key)?;
    let api = Api::new(target)?;
    let json_out = cli.json;
    match cli.command {
        Command::Admin(_) | Command::Completions { .. } => {}
        Command::Login => {
            // Any role may list the models: a key that answers is a key that works.
            api.get("/api/v1/mcp/models").await?;
            let file = config::save(&api.target)?;
            eprintln!("logged in to {}; saved in {}", api.target.url, file.display());
        }
        Command::Chat(args) => {
            let start = chat::Start {
                context_id: args.context,
                model_id: args.model,
                system: args.system,
            };
            return chat::run(&api, start).await;
        }
        Command::Agents(Agents::List(filter)) => {
            let query: Vec<(&str, String)> = [("status", filter.status), ("capability", filter.capability)]
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect();
            let found = api.get_query("/api/v1/agents", &query).await?;
            show(json_out, &found, |v| table::agents(v, chrono::Utc::now()));
        }
        Command::Pipelines(Pipelines::Create { file }) => {
            let made = api.post("/api/v1/pipelines", &read_json(&file)?).await?;
            show(json_out, &made, |v| {
                println!("{}", v["pipeline_id"].as_str().unwrap_or_default());
            });
        }
        Command::Pipelines(Pipelines::List) => {
            let found = api.get("/api/v1/pipelines").await?;
            show(json_out, &found, table::pipelines);
        }
        Command::Pipelines(Pipelines::Get { pipeline_id }) => {
            show(
                json_out,
                &api.get(&format!("/api/v1/pipelines/{pipeline_id}")).await?,
                pretty,
            );
        }
        Command::Pipelines(Pipelines::Execution {
            pipeline_id,
            execution_id,
        }) => {
            let path = format!("/api/v1/pipelines/{pipeline_id}/executions/{execution_id}");
            show(json_out, &api.get(&path).await?, pretty);
        }
        Command::Pipelines(Pipelines::Run(run)) => {
            let mut body = json!({});
            if let Some(file) = &run.input {
                body["input_data"] = read_json(file)?;
            }
            if let Some(file) = &run.params {
                body["parameters"] = read_json(file)?;
            }
            if run.watch {
                return match watch::run(&api, &run.pipeline_id, &body, json_out).await {
                    Ok(code) => Ok(code),
                    // Not the execution's failure: the watch's own.
                    Err(e) => {
                        eprintln!("mcpflow: {e:#}");
                        Ok(watch::LOST)
                    }
                };
            }
            let started = api
                .post(&format!("/api/v1/pipelines/{}/execute", run.pipeline_id), &body)
                .await?;
            show(json_out, &started, |v| {
                println!("{}", v["execution_id"].as_str().unwrap_or_default());
            });
        }
        Command::Tasks(command) => return tasks::run(&api, command, json_out).await,
        Command::Contexts(command) => return contexts::run(&api, command, json_out).await,
        Command::Tools(command) => return registered::run(&api, registered::Kind::Tools, command, json_out).await,
        Command::Prompts(command) => return registered::run(&api, registered::Kind::Prompts, command, json_out).await,
        Command::Resources(command) => {
            return registered::run(&api, registered::Kind::Resources, command, json_out).await
        }
    }
    Ok(0)
}

async fn create_key(args: CreateKey) -> anyhow::Result<()> {
    let store = DynamoDbKeyStore::new(AwsClients::load().await.dynamodb, args.table);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let created = issue_key(&store, &args.tenant, &args.name, args.role, &now).await?;
    let r = &created.record;
    let shown =
        serde_json::json!({"key_id": r.key_id, "key": created.key.expose(), "tenant": r.tenant, "role": r.role});
    println!("{shown}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_bash_completion_script_offers_the_commands() {
        let mut script = Vec::new();
        clap_complete::generate(clap_complete::Shell::Bash, &mut Cli::command(), "mcpflow", &mut script);
        let script = String::from_utf8(script).unwrap();
        assert!(script.contains("pipelines") && script.contains("--watch"), "{script}");
    }

    #[test]
    fn create_key_reads_its_flags_with_admin_and_bootstrap_by_default() {
        let cli =
            Cli::try_parse_from(["mcpflow", "admin", "create-key", "--table", "t", "--tenant", "acme-eu"]).unwrap();
        let Command::Admin(Admin::CreateKey(args)) = cli.command else {
            panic!("not create-key")
        };
        assert_eq!((args.table.as_str(), args.tenant.as_str()), ("t", "acme-eu"));
        assert_eq!((args.role, args.name.as_str()), (Role::Admin, "bootstrap"));
    }

    #[test]
    fn a_tenant_that_breaks_the_pattern_is_refused_naming_the_pattern() {
        let err = Cli::try_parse_from(["mcpflow", "admin", "create-key", "--table", "t", "--tenant", "acme#eu"])
            .unwrap_err()
            .to_string();
        assert!(err.contains(shared::tenant::TENANT_PATTERN), "{err}");
    }
}
