//! Completions that offer registered tools, through the local gateway: the OpenAI-compatible
//! stand-in calls them, the worker runs each call through the registry (the tool's endpoint over
//! real HTTP), hands the answers back and keeps each round; a failing endpoint is an error answer
//! the model sees; a model that never stops calling tools fails after the last round; a tool
//! another tenant registered cannot be offered.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{get, post};
use crate::helpers::{fresh_tenant, tool_endpoint, Credential};

const ROUTE: &str = "/api/v1/completions";

fn operator(tenant: &str) -> Credential {
    bearer(&jwt(tenant, "operator", &json!({}), &secret()))
}

/// Registers `weather` (the echo endpoint) and `down` (an endpoint nothing answers) for the caller.
async fn register(caller: &Credential) {
    for (name, endpoint) in [
        ("weather", tool_endpoint()),
        ("down", "http://127.0.0.1:9/x".to_owned()),
    ] {
        let tool = json!({"name": name, "description": format!("The {name} tool"), "endpoint": endpoint,
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}});
        let (status, created) = post(caller, "/api/v1/tools", &tool).await;
        assert_eq!(status, 201, "{created}");
    }
}

fn calls(done: &Value, round: usize) -> &Vec<Value> {
    done["tool_rounds"][round]["calls"].as_array().unwrap()
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn the_models_tool_calls_are_run_through_the_registry_and_each_round_is_kept() {
    // GIVEN a tenant with two registered tools
    let caller = operator(&fresh_tenant("tools"));
    register(&caller).await;
    // WHEN a completion offers both and the model calls each once (and a bad call: no city)
    let prompt = r#"Weather? [call weather {"city": "Paris"}] [call down {"city": "Oslo"}] [call weather {"town": 1}]"#;
    let body = json!({"model_id": "standin", "wait": true, "prompt": prompt, "tools": ["weather", "down"]});
    let (status, done) = post(&caller, ROUTE, &body).await;
    // THEN it completes with the answer written after the tools answered
    assert_eq!((status, done["status"].as_str()), (200, Some("completed")), "{done}");
    assert_eq!(done["tools"], json!(["weather", "down"]));
    // AND the one round holds each call: the endpoint's echo, the failed endpoint, the refused arguments
    let round = calls(&done, 0);
    assert_eq!(done["tool_rounds"].as_array().unwrap().len(), 1, "{done}");
    assert_eq!(round.len(), 3, "{done}");
    assert_eq!(
        (&round[0]["name"], &round[0]["arguments"], &round[0]["is_error"]),
        (&json!("weather"), &json!({"city": "Paris"}), &json!(false))
    );
    assert_eq!(round[0]["result"], r#"{"echo":{"city":"Paris"}}"#);
    assert_eq!(
        (&round[1]["name"], &round[1]["is_error"]),
        (&json!("down"), &json!(true))
    );
    assert!(round[2]["result"].as_str().unwrap().starts_with("arguments:"), "{done}");
    assert_eq!(round[2]["is_error"], true);
    // AND the model was handed every answer: the stand-in's reply quotes them
    let result = done["result"].as_str().unwrap();
    assert!(
        result.contains(r#"tools ["{\"echo\":{\"city\":\"Paris\"}}""#),
        "{result}"
    );
    assert!(result.contains("arguments:"), "{result}");
    // AND the completion reads back the same
    let id = done["completion_id"].as_str().unwrap();
    let (status, read) = get(&caller, &format!("{ROUTE}/{id}")).await;
    assert_eq!((status, &read["tool_rounds"]), (200, &done["tool_rounds"]));
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_model_that_never_stops_calling_tools_fails_after_five_rounds() {
    let caller = operator(&fresh_tenant("tools"));
    register(&caller).await;
    let body = json!({"model_id": "standin", "wait": true, "tools": ["weather"],
        "prompt": r#"Loop [call-loop weather {"city": "Rome"}]"#});
    let (status, done) = post(&caller, ROUTE, &body).await;
    assert_eq!((status, done["status"].as_str()), (200, Some("failed")), "{done}");
    assert_eq!(done["error"]["code"], "TOOL_ROUNDS_EXCEEDED", "{done}");
    let rounds = done["tool_rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 5);
    assert_eq!(rounds[4]["round"], 5);
    assert_eq!(rounds[4]["calls"][0]["result"], r#"{"echo":{"city":"Rome"}}"#);
}

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn only_the_callers_own_registered_tools_can_be_offered() {
    // GIVEN a tenant with tools, and another tenant without
    let owner = operator(&fresh_tenant("tools"));
    register(&owner).await;
    let other = operator(&fresh_tenant("tools"));
    // WHEN the other offers the first tenant's tool, THEN it is a 400 naming it, and nothing is recorded
    for (body, field) in [
        (
            json!({"model_id": "standin", "prompt": "hi", "tools": ["weather"]}),
            "tools[0]",
        ),
        (
            json!({"model_id": "standin", "prompt": "hi", "tools": ["weather", "weather"]}),
            "tools[1]",
        ),
        (json!({"model_id": "standin", "prompt": "hi", "tools": []}), "tools"),
    ] {
        let (status, refused) = post(&other, ROUTE, &body).await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(
            (
                refused["error"]["code"].as_str(),
                refused["error"]["details"]["field"].as_str()
            ),
            (Some("INVALID_REQUEST"), Some(field)),
            "{refused}"
        );
    }
    let (status, listed) = get(&other, "/api/v1/mcp/tasks").await;
    assert_eq!((status, &listed["tasks"]), (200, &json!([])), "{listed}");
}
