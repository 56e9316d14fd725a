//! What the reference agent does for each stage type. Records flow through as `records` (a list of
//! JSON objects); every stage's output is the next stage's input.
//!
//! | type | reads | returns |
//! | --- | --- | --- |
//! | `data-ingestion` | `input.source` as an `s3://` URL (a JSON list of records or `{"records": […]}`, JSON Lines for `.jsonl`, else CSV with a header row, `parameters.delimiter` or `,`), or `input.records` (inline data) | `{records, count, source}` |
//! | `transformation` | `records` | the records with their keys lower-cased and string values trimmed |
//! | `analysis` | `records` | `{records, count, summary, model}`: `summary` is an LLM's answer to a prompt about the records, through mcpflow's own task API (a context and a prompt) |
//! | `validation` | `records` | `{records, count, valid, problems}`: every record must be a JSON object; a failed check fails the stage |
//! | `processing` | `records` | `{records, count, totals}`: the sum of each numeric field |
//! | `output` | `records` | `{written, destination, result}`: what the stages before found, returned as the pipeline's result; with `parameters.destination` an `s3://` URL, the records and the result are written there as JSON |

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::client::Agent;
use crate::storage::Storage;

/// How long `analysis` waits for its prompt's answer.
pub const ANALYSIS_WAIT: Duration = Duration::from_secs(120);

fn records(input: &Value) -> Vec<Value> {
    input["records"].as_array().cloned().unwrap_or_default()
}

/// Runs a stage of `stage_type` on `payload` (`input` and `parameters`); its output, or why it failed.
///
/// # Errors
/// A message for the stage's error.
pub async fn run(agent: &Agent, storage: Option<&Storage>, stage_type: &str, payload: &Value) -> Result<Value, String> {
    let input = &payload["input"];
    let parameters = &payload["parameters"];
    match stage_type {
        "data-ingestion" => ingest(storage, input, parameters).await,
        "transformation" => Ok(transform(input)),
        "analysis" => analyse(agent, input, parameters).await,
        "validation" => validate(input),
        "processing" => Ok(process(input)),
        "output" => output(storage, input, parameters).await,
        other => Err(format!("this agent does not run {other} stages")),
    }
}

fn no_storage() -> String {
    "this agent has no S3 access configured".into()
}

async fn ingest(storage: Option<&Storage>, input: &Value, parameters: &Value) -> Result<Value, String> {
    let source = input["source"].as_str().unwrap_or("inline");
    if source.starts_with("s3://") {
        let bytes = storage
            .ok_or_else(no_storage)?
            .get(source)
            .await
            .map_err(|e| format!("{e:#}"))?;
        let delimiter = parameters["delimiter"]
            .as_str()
            .and_then(|d| d.chars().next())
            .unwrap_or(',');
        let rows = parse_records(source, &bytes, delimiter)?;
        return Ok(json!({"count": rows.len(), "records": rows, "source": source}));
    }
    match &input["records"] {
        Value::Array(rows) => Ok(json!({"records": rows, "count": rows.len(), "source": source})),
        _ => Err("input_data.records must be a list of records, or input_data.source an s3:// URL".into()),
    }
}

/// Records from an object's bytes: JSON (a list, or `{"records": […]}`), JSON Lines (`.jsonl`), or CSV
/// with a header row (numbers read as numbers).
fn parse_records(source: &str, bytes: &[u8], delimiter: char) -> Result<Vec<Value>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{source} is not UTF-8 text"))?;
    let trimmed = text.trim_start();
    if source.ends_with(".jsonl") {
        return text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{source} line {}: {e}", i + 1)))
            .collect();
    }
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("{source}: {e}"))?;
        return match value {
            Value::Array(rows) => Ok(rows),
            Value::Object(mut o) => match o.remove("records") {
                Some(Value::Array(rows)) => Ok(rows),
                _ => Err(format!("{source}: a JSON object needs a records list")),
            },
            _ => Err(format!("{source}: not a list of records")),
        };
    }
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or(format!("{source} is empty"))?
        .split(delimiter)
        .map(|h| h.trim().to_owned())
        .collect();
    Ok(lines
        .map(|line| {
            let fields = header.iter().zip(line.split(delimiter)).map(|(h, v)| {
                let v = v.trim();
                let number = v.parse::<f64>().ok().and_then(serde_json::Number::from_f64);
                (h.clone(), number.map_or_else(|| json!(v), Value::Number))
            });
            Value::Object(fields.collect())
        })
        .collect())
}

fn transform(input: &Value) -> Value {
    let rows: Vec<Value> = records(input)
        .into_iter()
        .map(|r| match r {
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => Value::String(s.trim().to_owned()),
                            other => other,
                        };
                        (k.to_lowercase(), v)
                    })
                    .collect(),
            ),
            other => other,
        })
        .collect();
    json!({"records": rows, "count": rows.len()})
}

async fn analyse(agent: &Agent, input: &Value, parameters: &Value) -> Result<Value, String> {
    let rows = records(input);
    let model = parameters["model_id"].as_str().unwrap_or("local-echo");
    let prompt = format!(
        "Summarise these {} records in one sentence: {}",
        rows.len(),
        serde_json::to_string(&rows)
            .unwrap_or_default()
            .chars()
            .take(4000)
            .collect::<String>()
    );
    let answer = prompt_llm(agent, model, &prompt).await?;
    Ok(
        json!({"records": rows, "count": rows.len(), "summary": answer["output"], "model": answer["model"],
        "provider": answer["provider"]}),
    )
}

/// A call of mcpflow's API with the agent's token; the answer's JSON.
async fn call(agent: &Agent, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
    let fail = |e: reqwest::Error| format!("mcpflow could not be reached: {e}");
    let mut request = agent.request(method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.map_err(fail)?.json().await.map_err(fail)
}

/// A prompt through mcpflow's task API: a context with `model`, the prompt, and its task polled until
/// it ends. The finished task.
async fn prompt_llm(agent: &Agent, model: &str, prompt: &str) -> Result<Value, String> {
    let created = call(
        agent,
        reqwest::Method::POST,
        "/api/v1/mcp/contexts",
        Some(json!({"model_id": model})),
    )
    .await?;
    let context = created["context_id"]
        .as_str()
        .ok_or(format!("no context was created: {created}"))?;
    let path = format!("/api/v1/mcp/contexts/{context}/prompt");
    let asked = call(agent, reqwest::Method::POST, &path, Some(json!({"prompt": prompt}))).await?;
    let task = asked["task_id"]
        .as_str()
        .ok_or(format!("the prompt was refused: {asked}"))?;
    let until = tokio::time::Instant::now() + ANALYSIS_WAIT;
    while tokio::time::Instant::now() < until {
        let got = call(agent, reqwest::Method::GET, &format!("/api/v1/mcp/tasks/{task}"), None).await?;
        match got["status"].as_str() {
            Some("completed") => return Ok(got),
            Some("failed" | "cancelled") => {
                return Err(format!("the LLM task {task} {}: {}", got["status"], got["error"]));
            }
            _ => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    Err(format!("the LLM task {task} did not finish within {ANALYSIS_WAIT:?}"))
}

fn validate(input: &Value) -> Result<Value, String> {
    let rows = records(input);
    let problems: Vec<String> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_object())
        .map(|(i, _)| format!("record {i} is not an object"))
        .collect();
    if rows.is_empty() {
        return Err("there are no records to validate".into());
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let mut out = input.clone();
    out["valid"] = json!(true);
    out["problems"] = json!(problems);
    Ok(out)
}

fn process(input: &Value) -> Value {
    let rows = records(input);
    let mut totals = Map::new();
    for row in &rows {
        for (k, v) in row.as_object().into_iter().flatten() {
            if let Some(n) = v.as_f64() {
                let sum = totals.get(k).and_then(Value::as_f64).unwrap_or(0.0) + n;
                totals.insert(k.clone(), json!(sum));
            }
        }
    }
    let mut out = input.clone();
    out["totals"] = Value::Object(totals);
    out["count"] = json!(rows.len());
    out
}

async fn output(storage: Option<&Storage>, input: &Value, parameters: &Value) -> Result<Value, String> {
    let rows = records(input);
    let mut result = input.clone();
    if let Some(o) = result.as_object_mut() {
        o.remove("records");
    }
    let destination = parameters["destination"].as_str().unwrap_or("inline");
    if destination.starts_with("s3://") {
        let body = json!({"records": rows, "result": result}).to_string().into_bytes();
        storage
            .ok_or_else(no_storage)?
            .put(destination, body)
            .await
            .map_err(|e| format!("{e:#}"))?;
        // What was written is in S3: the output names it instead of repeating it.
        return Ok(json!({"written": rows.len(), "destination": destination, "result": result}));
    }
    Ok(json!({"written": rows.len(), "destination": destination, "result": result, "records": rows}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_flow_through_ingestion_transformation_validation_processing_and_output() {
        let input = json!({"records": [{" Name ": " a ", "Qty": 2}, {"name": "b", "qty": 3}]});
        let ingested = ingest(None, &input, &json!({})).await.unwrap();
        assert_eq!((&ingested["count"], &ingested["source"]), (&json!(2), &json!("inline")));
        let t = transform(&ingested);
        assert_eq!(t["records"][0], json!({" name ": "a", "qty": 2}));
        let v = validate(&t).unwrap();
        let p = process(&v);
        assert_eq!(p["totals"]["qty"], json!(5.0));
        let o = output(None, &p, &json!({})).await.unwrap();
        assert_eq!((&o["written"], &o["result"]["totals"]["qty"]), (&json!(2), &json!(5.0)));
        assert!(validate(&json!({"records": [1]})).is_err());
        assert!(ingest(None, &json!({"rows": 1}), &json!({})).await.is_err());
        let no_s3 = ingest(None, &json!({"source": "s3://b/k.csv"}), &json!({})).await;
        assert_eq!(no_s3, Err(no_storage()));
    }

    #[test]
    fn objects_are_read_as_json_json_lines_or_csv() {
        let json = parse_records("s3://b/a.json", br#"{"records": [{"a": 1}]}"#, ',').unwrap();
        assert_eq!(json, [json!({"a": 1})]);
        let lines = parse_records("s3://b/a.jsonl", b"{\"a\": 1}\n\n{\"a\": 2}\n", ',').unwrap();
        assert_eq!(lines.len(), 2);
        let csv = parse_records("s3://b/a.csv", b"name;qty\nada; 2\nbob;3.5\n", ';').unwrap();
        assert_eq!(
            csv,
            [json!({"name": "ada", "qty": 2.0}), json!({"name": "bob", "qty": 3.5})]
        );
        assert!(parse_records("s3://b/a.json", b"[1", ',').is_err());
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_key() {
        assert_eq!(crate::storage::parse("s3://b/k/x.csv").unwrap(), ("b", "k/x.csv"));
        assert!(crate::storage::parse("s3://b").is_err() && crate::storage::parse("https://b/k").is_err());
    }
}
