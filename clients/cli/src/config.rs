//! Where the CLI talks to and with what: `--url`/`--ws-url`/`--key`, else `MCPFLOW_URL`,
//! `MCPFLOW_WS_URL`, `MCPFLOW_KEY`, else what `mcpflow login` saved (`$MCPFLOW_CONFIG`, or
//! `~/.config/mcpflow/config.json`, readable by its owner only).

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// One mcpflow and the credential to call it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The HTTP API (`http://127.0.0.1:3000`, or the stack's `HttpApiUrl`).
    pub url: String,
    /// The WebSocket API (`ws://127.0.0.1:3001/v1`, or the stack's `WebSocketUrl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws_url: Option<String>,
    /// An API key, or a JWT.
    pub key: String,
}

impl Target {
    /// The WebSocket API: the one given, or the local stack's beside a local HTTP API (its port + 1,
    /// path `/v1`, as `make dev` and `make test` run them).
    ///
    /// # Errors
    /// When none is given and the HTTP API is not a local one.
    pub fn websocket(&self) -> anyhow::Result<String> {
        if let Some(ws) = &self.ws_url {
            return Ok(ws.clone());
        }
        let local = self
            .url
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .and_then(|host| host.rsplit_once(':'))
            .filter(|(h, _)| ["127.0.0.1", "localhost"].contains(h))
            .and_then(|(h, port)| Some((h, port.parse::<u16>().ok()?.checked_add(1)?)));
        match local {
            Some((host, port)) => Ok(format!("ws://{host}:{port}/v1")),
            None => bail!("no WebSocket URL: pass --ws-url (the stack's WebSocketUrl output) or set MCPFLOW_WS_URL"),
        }
    }
}

/// The file `login` writes.
#[must_use]
pub fn path() -> PathBuf {
    if let Some(p) = std::env::var_os("MCPFLOW_CONFIG") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".config"),
        PathBuf::from,
    );
    base.join("mcpflow").join("config.json")
}

/// The saved target, if any.
///
/// # Errors
/// When the file exists but cannot be read.
pub fn saved() -> anyhow::Result<Option<Target>> {
    let file = path();
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text).with_context(|| format!("{} is not a saved login", file.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

/// Saves `target`, readable and writable by its owner only (`0600`).
///
/// # Errors
/// When the file cannot be written.
pub fn save(target: &Target) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = path();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    // An existing file keeps its mode on open: make it the owner's only.
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    out.write_all(serde_json::to_string_pretty(target)?.as_bytes())?;
    Ok(file)
}

/// The target from flags, the environment, then the saved login.
///
/// # Errors
/// When no URL or key is known.
pub fn resolve(url: Option<String>, ws_url: Option<String>, key: Option<String>) -> anyhow::Result<Target> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let saved = saved()?;
    let url = url
        .or_else(|| env("MCPFLOW_URL"))
        .or_else(|| saved.as_ref().map(|s| s.url.clone()));
    let key = key
        .or_else(|| env("MCPFLOW_KEY"))
        .or_else(|| saved.as_ref().map(|s| s.key.clone()));
    let ws_url = ws_url
        .or_else(|| env("MCPFLOW_WS_URL"))
        .or_else(|| saved.as_ref().and_then(|s| s.ws_url.clone()));
    match (url, key) {
        (Some(url), Some(key)) => Ok(Target { url, ws_url, key }),
        _ => bail!("not logged in: run `mcpflow login --url URL --key KEY`, or set MCPFLOW_URL and MCPFLOW_KEY"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str, ws: Option<&str>) -> Target {
        Target {
            url: url.into(),
            ws_url: ws.map(Into::into),
            key: "k".into(),
        }
    }

    #[test]
    fn a_local_http_api_has_its_websocket_on_the_next_port_and_others_need_one_given() {
        assert_eq!(
            target("http://127.0.0.1:3000", None).websocket().unwrap(),
            "ws://127.0.0.1:3001/v1"
        );
        assert_eq!(
            target("http://localhost:3100/", None).websocket().unwrap(),
            "ws://localhost:3101/v1"
        );
        assert_eq!(
            target("https://x.execute-api.eu-west-1.amazonaws.com", Some("wss://y/v1"))
                .websocket()
                .unwrap(),
            "wss://y/v1"
        );
        assert!(target("https://x.execute-api.eu-west-1.amazonaws.com", None)
            .websocket()
            .is_err());
    }
}
