//! `mcpflow`: the command line for a deployed mcpflow.
//!
//! `mcpflow admin create-key` is the one-off bootstrap of a tenant's first admin key, straight into the
//! table (`make dev` runs it against DynamoDB Local; in AWS run it once with credentials that may write
//! the table). The key is printed once and never stored.

use clap::{Args, Parser, Subcommand};
use shared::auth::Role;
use shared::aws::AwsClients;
use shared::keys::admin::issue_key;
use shared::keys::dynamodb::DynamoDbKeyStore;
use shared::tenant::TenantId;

#[derive(Debug, Parser)]
#[command(name = "mcpflow", about = "The mcpflow command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Operations that go straight to the stack's resources, with AWS credentials.
    #[command(subcommand)]
    Admin(Admin),
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
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Admin(Admin::CreateKey(args)) => create_key(args).await,
    }
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
    fn create_key_reads_its_flags_with_admin_and_bootstrap_by_default() {
        let cli =
            Cli::try_parse_from(["mcpflow", "admin", "create-key", "--table", "t", "--tenant", "acme-eu"]).unwrap();
        let Command::Admin(Admin::CreateKey(args)) = cli.command;
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
