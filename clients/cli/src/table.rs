//! Tables for people: columns padded to their widest cell.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The rows under `header`, each column as wide as its widest cell.
#[must_use]
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.iter().map(|h| (*h).to_owned()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.join("\n")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// Seconds from an RFC 3339 stamp to `now`.
fn age(stamp: &Value, now: DateTime<Utc>) -> String {
    stamp
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || "-".into(),
            |t| format!("{}s ago", (now - t.with_timezone(&Utc)).num_seconds().max(0)),
        )
}

/// `GET /api/v1/agents` as a table.
pub fn agents(answer: &Value, now: DateTime<Utc>) {
    let rows: Vec<Vec<String>> = answer["agents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let caps: Vec<String> = a["capabilities"].as_array().into_iter().flatten().map(text).collect();
            vec![
                text(&a["agent_id"]),
                text(&a["name"]),
                text(&a["type"]),
                text(&a["status"]),
                a["current_load"]
                    .as_f64()
                    .map_or_else(|| "-".into(), |l| format!("{l:.2}")),
                age(&a["last_heartbeat"], now),
                caps.join(","),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "TYPE", "STATUS", "LOAD", "HEARTBEAT", "CAPABILITIES"];
    println!("{}", render(&header, &rows));
}

/// `GET /api/v1/pipelines` as a table.
pub fn pipelines(answer: &Value) {
    let rows: Vec<Vec<String>> = answer["pipelines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let stages = p["stages"].as_array().map_or(0, Vec::len);
            vec![
                text(&p["pipeline_id"]),
                text(&p["name"]),
                stages.to_string(),
                text(&p["created_at"]),
            ]
        })
        .collect();
    println!("{}", render(&["ID", "NAME", "STAGES", "CREATED"], &rows));
}

/// The rows of `answer[key]`, each the `fields` of one item.
fn rows_of(answer: &Value, key: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let items = answer[key].as_array().into_iter().flatten();
    items
        .map(|item| fields.iter().map(|f| text(&item[*f])).collect())
        .collect()
}

/// What there is after this page, when there is more.
fn more(answer: &Value) {
    if let Some(cursor) = answer["next_cursor"].as_str() {
        println!("(more: --cursor {cursor})");
    }
}

/// `GET /api/v1/mcp/tasks` as a table.
pub fn tasks(answer: &Value) {
    let fields = ["task_id", "type", "status", "created_at", "model_id", "context_id"];
    let header = ["ID", "TYPE", "STATUS", "CREATED", "MODEL", "CONTEXT"];
    println!("{}", render(&header, &rows_of(answer, "tasks", &fields)));
    more(answer);
}

/// `GET /api/v1/mcp/contexts` as a table.
pub fn contexts(answer: &Value) {
    let fields = ["context_id", "model_id", "user_id", "created_at"];
    println!(
        "{}",
        render(
            &["ID", "MODEL", "USER", "CREATED"],
            &rows_of(answer, "contexts", &fields)
        )
    );
    more(answer);
}

/// `GET /api/v1/tools` (prompts, resources) as a table.
pub fn registered(answer: &Value, kind: crate::registered::Kind) {
    use crate::registered::Kind;
    let (key, fields, header): (&str, &[&str], &[&str]) = match kind {
        Kind::Tools => (
            "tools",
            &["name", "description", "endpoint"],
            &["NAME", "DESCRIPTION", "ENDPOINT"],
        ),
        Kind::Prompts => ("prompts", &["name", "description"], &["NAME", "DESCRIPTION"]),
        Kind::Resources => ("resources", &["uri", "name", "mime_type"], &["URI", "NAME", "TYPE"]),
    };
    println!("{}", render(header, &rows_of(answer, key, fields)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = vec![
            vec!["agt_1".to_owned(), "a-long-name".to_owned()],
            vec!["agt_22".to_owned(), "b".to_owned()],
        ];
        assert_eq!(
            render(&["ID", "NAME"], &rows),
            "ID      NAME\nagt_1   a-long-name\nagt_22  b"
        );
    }

    #[test]
    fn a_heartbeat_shows_as_its_age() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T10:00:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age(&Value::from("2026-12-02T10:00:00.000Z"), now), "30s ago");
        assert_eq!(age(&Value::Null, now), "-");
    }
}
