//! `mcpflow tools|prompts|resources`: the tenant's registered items — register one from a file,
//! list them, read, call (a tool's execute, a prompt's generate) or remove one.

use std::path::PathBuf;

use clap::Subcommand;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a path segment may not hold as it is: all but letters, digits, `-`, `_` and `~` (a `.` too,
/// so `..` cannot climb out of the segment).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');
use serde_json::{json, Value};

use crate::api::Api;
use crate::{pretty, read_json, show, table};

/// Which registry a command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tools,
    Prompts,
    Resources,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Self::Tools => "/api/v1/tools",
            Self::Prompts => "/api/v1/prompts",
            Self::Resources => "/api/v1/resources",
        }
    }

    /// The path of one item, its name (a resource's URI) percent-encoded as one path segment.
    fn item(self, name: &str) -> String {
        format!("{}/{}", self.path(), utf8_percent_encode(name, SEGMENT))
    }
}

#[derive(Debug, Subcommand)]
pub enum Registered {
    /// Registers one from a JSON file (the body of the POST).
    Register {
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Every one the tenant registered.
    List,
    /// One, by name (a resource by its URI).
    Get { name: String },
    /// Removes one.
    Delete { name: String },
    /// A tool: executes it with these arguments; a prompt: renders it (a JSON object, inline or @file).
    Call {
        name: String,
        #[arg(long, default_value = "{}")]
        args: String,
    },
}

/// `--args`: inline JSON, or `@file`.
fn arguments(args: &str) -> anyhow::Result<Value> {
    match args.strip_prefix('@') {
        Some(file) => read_json(&PathBuf::from(file)),
        None => Ok(serde_json::from_str(args)?),
    }
}

/// Runs one command on `kind`'s registry; its exit code.
///
/// # Errors
/// When mcpflow cannot be reached or refuses the request, or `--args` is not JSON.
pub async fn run(api: &Api, kind: Kind, command: Registered, json_out: bool) -> anyhow::Result<i32> {
    match command {
        Registered::Register { file } => {
            let made = api.post(kind.path(), &read_json(&file)?).await?;
            show(json_out, &made, pretty);
        }
        Registered::List => {
            let found = api.get(kind.path()).await?;
            show(json_out, &found, |v| table::registered(v, kind));
        }
        Registered::Get { name } => show(json_out, &api.get(&kind.item(&name)).await?, pretty),
        Registered::Delete { name } => {
            let gone = api.delete(&kind.item(&name)).await?;
            show(json_out, &gone, |_| println!("deleted {name}"));
        }
        Registered::Call { name, args } => {
            let verb = match kind {
                Kind::Tools => "execute",
                Kind::Prompts => "generate",
                Kind::Resources => anyhow::bail!("a resource is read (get), not called"),
            };
            let body = json!({"arguments": arguments(&args)?});
            let answer = api.post(&format!("{}/{verb}", kind.item(&name)), &body).await?;
            show(json_out, &answer, pretty);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_uri_is_one_path_segment_and_a_name_is_itself() {
        assert_eq!(
            Kind::Resources.item("file:///a b?c"),
            "/api/v1/resources/file%3A%2F%2F%2Fa%20b%3Fc"
        );
        assert_eq!(Kind::Prompts.item("greet"), "/api/v1/prompts/greet");
        assert_eq!(Kind::Tools.item("weather_now"), "/api/v1/tools/weather_now");
        assert_eq!(Kind::Tools.item("x/../y"), "/api/v1/tools/x%2F%2E%2E%2Fy");
    }

    #[test]
    fn arguments_are_inline_json_or_a_file() {
        assert_eq!(arguments(r#"{"city": "Oslo"}"#).unwrap()["city"], "Oslo");
        assert!(arguments("{not json").is_err());
        assert!(arguments("@/no/such/file.json").is_err());
    }
}
