//! What the reference agent does for each stage type. Records flow through as `records` (a list of
//! JSON objects); every stage's output is the next stage's input.
//!
//! | type | reads | returns |
//! | --- | --- | --- |
//! | `data-ingestion` | `input.records` (inline data) | `{records, count, source}` |
//! | `transformation` | `records` | the records with their keys lower-cased and string values trimmed |
//! | `analysis` | `records` | `{records, count, summary, model}`: `summary` is an LLM's answer to a prompt about the records, through mcpflow's own task API (a context and a prompt) |
//! | `validation` | `records` | `{records, count, valid, problems}`: every record must be a JSON object; a failed check fails the stage |
//! | `processing` | `records` | `{records, count, totals}`: the sum of each numeric field |
//! | `output` | `records` | `{written, destination, result}`: the records and what the stages before found, returned as the pipeline's result |

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::client::Agent;

/// How long `analysis` waits for its prompt's answer.
pub const ANALYSIS_WAIT: Duration = Duration::from_secs(120);

fn records(input: &Value) -> Vec<Value> {
    input["records"].as_array().cloned().unwrap_or_default()
}

/// Runs a stage of `stage_type` on `payload` (`input` and `parameters`); its output, or why it failed.
///
/// # Errors
/// A message for the stage's error.
pub async fn run(agent: &Agent, stage_type: &str, payload: &Value) -> Result<Value, String> {
    let input = &payload["input"];
    match stage_type {
        "data-ingestion" => ingest(input),
        "transformation" => Ok(transform(input)),
        "analysis" => analyse(agent, input, &payload["parameters"]).await,
        "validation" => validate(input),
        "processing" => Ok(process(input)),
        "output" => Ok(output(input, &payload["parameters"])),
        other => Err(format!("this agent does not run {other} stages")),
    }
}

fn ingest(input: &Value) -> Result<Value, String> {
    match &input["records"] {
        Value::Array(rows) => {
            Ok(json!({"records": rows, "count": rows.len(), "source": input["source"].as_str().unwrap_or("inline")}))
        }
        _ => Err("input_data.records must be a list of records".into()),
    }
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

/// A prompt through mcpflow's task API: a context with `model`, the prompt, and its task polled until
/// it ends. The finished task.
async fn prompt_llm(agent: &Agent, model: &str, prompt: &str) -> Result<Value, String> {
    let fail = |e: reqwest::Error| format!("mcpflow could not be reached: {e}");
    let created: Value = agent
        .request(reqwest::Method::POST, "/api/v1/mcp/contexts")
        .json(&json!({"model_id": model}))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let context = created["context_id"]
        .as_str()
        .ok_or(format!("no context was created: {created}"))?;
    let asked: Value = agent
        .request(reqwest::Method::POST, &format!("/api/v1/mcp/contexts/{context}/prompt"))
        .json(&json!({"prompt": prompt}))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await
        .map_err(fail)?;
    let task = asked["task_id"]
        .as_str()
        .ok_or(format!("the prompt was refused: {asked}"))?;
    let until = tokio::time::Instant::now() + ANALYSIS_WAIT;
    while tokio::time::Instant::now() < until {
        let got: Value = agent
            .request(reqwest::Method::GET, &format!("/api/v1/mcp/tasks/{task}"))
            .send()
            .await
            .map_err(fail)?
            .json()
            .await
            .map_err(fail)?;
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

fn output(input: &Value, parameters: &Value) -> Value {
    let rows = records(input);
    let mut result = input.clone();
    if let Some(o) = result.as_object_mut() {
        o.remove("records");
    }
    json!({"written": rows.len(), "destination": parameters["destination"].as_str().unwrap_or("inline"),
        "result": result, "records": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_flow_through_transformation_validation_processing_and_output() {
        let ingested = ingest(&json!({"records": [{" Name ": " a ", "Qty": 2}, {"name": "b", "qty": 3}]})).unwrap();
        assert_eq!(ingested["count"], 2);
        let t = transform(&ingested);
        assert_eq!(t["records"][0], json!({" name ": "a", "qty": 2}));
        let v = validate(&t).unwrap();
        let p = process(&v);
        assert_eq!(p["totals"]["qty"], json!(5.0));
        let o = output(&p, &json!({}));
        assert_eq!(
            (o["written"].clone(), o["result"]["totals"]["qty"].clone()),
            (json!(2), json!(5.0))
        );
        assert!(validate(&json!({"records": [1]})).is_err());
        assert!(ingest(&json!({"rows": 1})).is_err());
    }
}
