//! Large contexts: `GET` pages the nodes so every answer fits a Lambda response, and a context stops
//! taking content at `MaxContextBytes` (3,000,000 on the test stack) with `422`, keeping what it had.

use serde_json::{json, Value};

use crate::auth_matrix::{bearer, jwt, secret};
use crate::conversation::{get, post};
use crate::helpers::fresh_tenant;

const NODE: usize = 32_000;

#[tokio::test]
#[ignore = "end-to-end: needs the local stack"]
async fn a_large_context_is_read_in_pages_and_refuses_content_past_its_size_limit() {
    // GIVEN a context holding 85 nodes of 32,000 bytes: 2.72 MB, more than one page holds
    let caller = bearer(&jwt(&fresh_tenant("big"), "operator", &json!({}), &secret()));
    let (status, created) = post(&caller, "/api/v1/mcp/contexts", &json!({"model_id": "local-echo"})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["context_id"].as_str().unwrap().to_owned();
    let node = json!({"content": "n".repeat(NODE), "content_type": "text"});
    for _ in 0..85 {
        let (status, body) = post(&caller, &format!("/api/v1/mcp/contexts/{id}/nodes"), &node).await;
        assert_eq!(status, 201, "{body}");
    }
    // WHEN it is read page by page
    let mut seqs = Vec::new();
    let mut pages = 0;
    let mut path = format!("/api/v1/mcp/contexts/{id}");
    loop {
        let (status, page) = get(&caller, &path).await;
        assert_eq!(status, 200, "{}", page["error"]);
        pages += 1;
        seqs.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["seq"].as_u64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/mcp/contexts/{id}?cursor={cursor}"),
            None => break,
        }
    }
    // THEN it took more than one page, and the pages hold every node once, in order
    assert!(pages > 1, "{pages} page(s)");
    assert_eq!(seqs, (1..=85).collect::<Vec<u64>>());
    // AND adding content past 3,000,000 bytes is 422, the context keeping every node it had
    let mut refused: Option<Value> = None;
    for _ in 0..20 {
        let (status, body) = post(&caller, &format!("/api/v1/mcp/contexts/{id}/nodes"), &node).await;
        if status != 201 {
            assert_eq!(status, 422, "{body}");
            refused = Some(body);
            break;
        }
    }
    let refused = refused.expect("the context took more than its limit");
    assert_eq!(refused["error"]["code"], "CONTEXT_TOO_LARGE");
    assert_eq!(refused["error"]["details"]["limit_bytes"], 3_000_000);
    let (_, first) = get(&caller, &format!("/api/v1/mcp/contexts/{id}?limit=1")).await;
    assert_eq!(first["nodes"].as_array().unwrap().len(), 1);
    let (status, bad) = get(&caller, &format!("/api/v1/mcp/contexts/{id}?cursor=nope")).await;
    assert_eq!(
        (status, bad["error"]["details"]["field"].as_str()),
        (400, Some("cursor"))
    );
}
