//! mcpflow's agent protocol over HTTP: register (with a key that may), heartbeat, claim the next
//! assigned stage task, report progress, complete or fail it.

use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::Deserialize;
use serde_json::{json, Value};

/// The longest error mcpflow takes from an agent, in bytes.
pub const MAX_ERROR_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes, on a character boundary.
#[must_use]
pub fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A stage task as `GET /agents/{id}/tasks/next` hands it out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StageTask {
    pub task_id: String,
    pub pipeline_id: String,
    pub execution_id: String,
    pub stage: String,
    pub stage_type: String,
    /// `input` (the pipeline's `input_data`, or what the stages before returned) and `parameters`.
    pub payload: Value,
    /// This attempt's number, from 1.
    pub attempts: u32,
    pub timeout: u64,
}

/// What mcpflow answered a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Taken: go on.
    Accepted,
    /// The task was cancelled or timed out (the code says which): stop working on it.
    Stop(String),
    /// The report itself was refused (`400`: an output too large, say); the message says why.
    Refused(String),
}

/// A registered agent: its id and its own token.
#[derive(Debug, Clone)]
pub struct Agent {
    pub agent_id: String,
    pub base_url: String,
    token: String,
    http: reqwest::Client,
}

fn client() -> anyhow::Result<reqwest::Client> {
    // Longer than the 20 s a claim may wait.
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(35)).build()?)
}

async fn answer(response: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

impl Agent {
    /// Registers an agent at `base_url` (`http://127.0.0.1:3000`) with `credential`, the header of an
    /// admin's or operator's API key (`("x-api-key", key)`) or JWT (`("authorization", "Bearer …")`):
    /// `capabilities` are the stage types it runs.
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses the registration.
    pub async fn register(
        base_url: &str,
        credential: (&str, &str),
        name: &str,
        capabilities: &[String],
    ) -> anyhow::Result<Self> {
        let http = client()?;
        let body = json!({"name": name, "type": "worker", "capabilities": capabilities,
            "resources": {"cpu": 1, "memory": 256, "gpu": 0}});
        let sent = http
            .post(format!("{base_url}/api/v1/agents/register"))
            .header(credential.0, credential.1)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("cannot reach {base_url}"))?;
        let (status, body) = answer(sent).await?;
        if status != 201 {
            bail!("registration refused ({status}): {body}");
        }
        Ok(Self {
            agent_id: body["agent_id"].as_str().context("no agent_id")?.to_owned(),
            base_url: base_url.to_owned(),
            token: body["token"].as_str().context("no token")?.to_owned(),
            http,
        })
    }

    /// An agent registered before, with the token it got then.
    ///
    /// # Errors
    /// When no HTTP client can be built.
    pub fn existing(base_url: &str, agent_id: &str, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            agent_id: agent_id.to_owned(),
            base_url: base_url.to_owned(),
            token: token.to_owned(),
            http: client()?,
        })
    }

    /// A request with this agent's token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .header("x-api-key", &self.token)
    }

    /// Says it is alive, with its load (0–1).
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses it.
    pub async fn heartbeat(&self, load: f64) -> anyhow::Result<()> {
        let status = if load > 0.0 { "busy" } else { "idle" };
        let path = format!("/api/v1/agents/{}/heartbeat", self.agent_id);
        let sent = self
            .request(reqwest::Method::POST, &path)
            .json(&json!({"status": status, "current_load": load}))
            .send()
            .await?;
        let (code, body) = answer(sent).await?;
        if code != 200 {
            bail!("heartbeat refused ({code}): {body}");
        }
        Ok(())
    }

    /// Claims the next task assigned to it, waiting up to `wait_secs` (at most 20) for one.
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses it.
    pub async fn next(&self, wait_secs: u64) -> anyhow::Result<Option<StageTask>> {
        let path = format!("/api/v1/agents/{}/tasks/next?wait={wait_secs}", self.agent_id);
        let sent = self.request(reqwest::Method::GET, &path).send().await?;
        let (code, body) = answer(sent).await?;
        if code != 200 {
            bail!("claim refused ({code}): {body}");
        }
        match &body["task"] {
            Value::Null => Ok(None),
            task => Ok(Some(
                serde_json::from_value(task.clone()).context("a task mcpflow sent")?,
            )),
        }
    }

    /// Reports on `task`'s attempt: a report that comes late, after the attempt is over, is refused
    /// rather than taken as the next attempt's.
    async fn report(&self, task: &StageTask, what: &str, mut body: Value) -> anyhow::Result<Report> {
        let path = format!("/api/v1/tasks/{}/{what}", task.task_id);
        body["attempt"] = json!(task.attempts);
        let sent = self.request(reqwest::Method::POST, &path).json(&body).send().await?;
        let (code, body) = answer(sent).await?;
        match code {
            200 => Ok(Report::Accepted),
            409 => Ok(Report::Stop(
                body["error"]["code"].as_str().unwrap_or("CONFLICT").to_owned(),
            )),
            400 => Ok(Report::Refused(
                body["error"]["message"].as_str().unwrap_or("refused").to_owned(),
            )),
            _ => bail!("{what} refused ({code}): {body}"),
        }
    }

    /// Reports progress (0–1) and log lines: the attempt's heartbeat.
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses it.
    pub async fn progress(&self, task: &StageTask, progress: f64, logs: &[String]) -> anyhow::Result<Report> {
        self.report(task, "progress", json!({"progress": progress, "logs": logs}))
            .await
    }

    /// Completes the task with `output`.
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses it.
    pub async fn complete(&self, task: &StageTask, output: &Value) -> anyhow::Result<Report> {
        self.report(task, "complete", json!({ "output": output })).await
    }

    /// Fails the task with `error`.
    ///
    /// # Errors
    /// When mcpflow cannot be reached or refuses it.
    pub async fn fail(&self, task: &StageTask, error: &str) -> anyhow::Result<Report> {
        self.report(task, "fail", json!({ "error": clip(error, MAX_ERROR_BYTES) }))
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_are_clipped_on_a_character_boundary() {
        assert_eq!(super::clip("héllo", 2), "h");
        assert_eq!(super::clip("héllo", 3), "hé");
        assert_eq!(super::clip("ok", 1024), "ok");
    }
}
