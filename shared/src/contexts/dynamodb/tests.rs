//! The contexts adapter against replayed DynamoDB answers: which quota item a create claims and a
//! delete frees.

use serde_json::{json, Value};

use super::*;
use crate::contexts::store::ContextEdits;
use crate::dynamodb::replay_client;
use crate::providers::replay::{serve, Answer, Received};

fn store(base: &str) -> DynamoDbContextStore {
    DynamoDbContextStore::new(replay_client(base), "mcpflow".into())
}

fn context(user_id: &str) -> Context {
    Context {
        context_id: "ctx_1".into(),
        tenant: "acme".into(),
        model_id: "local-echo".into(),
        user_id: Some(user_id.into()),
        metadata: Map::new(),
        created_at: "2026-11-22T10:00:00.000Z".into(),
        updated_at: "2026-11-22T10:00:00.000Z".into(),
        expires_at: 2_000_000_000,
        nodes: Vec::new(),
    }
}

/// The completed `mcp.create_context` task that records the creation.
fn record() -> Task {
    let mut t: Task = serde_json::from_value(json!({"task_id": "task_1", "type": "mcp.create_context",
        "status": "completed", "priority": 5, "context_id": "ctx_1", "user_id": null, "model_id": "local-echo",
        "created_at": "2026-11-22T10:00:00.000Z", "started_at": "2026-11-22T10:00:00.000Z",
        "finished_at": "2026-11-22T10:00:00.000Z", "attempts": 0, "provider": null, "model": null,
        "usage": null, "output": null, "error": null, "expires_at": 2_000_000_000}))
    .unwrap();
    t.tenant = "acme".into();
    t
}

fn quota(owner: &str) -> Quota {
    Quota {
        owner: owner.into(),
        max: 2,
        now: 1_900_000_000,
    }
}

/// A `Query` answer holding the context's META item with `extra` attributes, and no nodes.
fn meta_with(extra: &Value) -> Answer {
    let mut meta = json!({"pk": {"S": "CTX#acme#ctx_1"}, "sk": {"S": "META"}});
    for (k, v) in extra.as_object().unwrap() {
        meta[k] = v.clone();
    }
    Answer::ok(&json!({"Items": [meta], "Count": 1, "ScannedCount": 1}))
}

#[test]
fn a_tenant_with_a_separator_and_an_id_with_one_get_different_partitions() {
    assert_ne!(pk("a#b", "c"), pk("a", "b#c"));
    assert_eq!(pk("acme", "ctx_1"), s("CTX#acme#ctx_1"));
}

#[tokio::test]
async fn a_create_claims_a_slot_of_the_principals_quota_and_records_its_task_in_one_transaction() {
    // GIVEN a principal with one live context, and a table that takes the transaction
    let item = json!({"Item": {"pk": {"S": "TENANT#acme"}, "sk": {"S": "QUOTA#key_1"}, "version": {"N": "4"},
        "live": {"M": {"ctx_0": {"N": "2000000000"}}}}});
    let (base, received) = serve(vec![Answer::ok(&item), Answer::ok(&json!({}))]).await;
    // WHEN it creates a context recording the user id "someone-else"
    store(&base)
        .create(&context("someone-else"), &quota("key_1"), &record())
        .await
        .unwrap();
    // THEN the quota read and rewritten is the principal's, and the context names it
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body["Key"]["sk"], json!({"S": "QUOTA#key_1"}));
    assert_eq!(sent[1].target(), "DynamoDB_20120810.TransactWriteItems");
    // AND the same transaction puts the creation's task, only if new, and adds to the counters
    let items = sent[1].body["TransactItems"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[3]["Put"]["Item"]["sk"], json!({"S": "TASK#task_1"}));
    assert_eq!(items[3]["Put"]["ConditionExpression"], "attribute_not_exists(pk)");
    assert!(items[4]["Update"]["UpdateExpression"]
        .as_str()
        .unwrap()
        .starts_with("ADD "));
    let [meta, _, claim] = [0, 1, 2].map(|i| &sent[1].body["TransactItems"][i]["Put"]);
    assert_eq!(meta["Item"]["quota_sk"], json!({"S": "QUOTA#key_1"}));
    assert_eq!(meta["Item"].get("quota_owner"), None);
    assert_eq!(claim["Item"]["sk"], json!({"S": "QUOTA#key_1"}));
    assert_eq!(claim["Item"]["live"]["M"].as_object().unwrap().len(), 2);
    assert_eq!(claim["ExpressionAttributeValues"][":v"], json!({"N": "4"}));
}

#[tokio::test]
async fn a_principal_at_its_quota_is_refused_before_anything_is_written() {
    // GIVEN a principal whose two slots are live
    let live = json!({"ctx_a": {"N": "2000000000"}, "ctx_b": {"N": "2000000000"}});
    let item = json!({"Item": {"version": {"N": "2"}, "live": {"M": live}}});
    let (base, received) = serve(vec![Answer::ok(&item)]).await;
    // WHEN it creates another
    let err = store(&base)
        .create(&context("u"), &quota("key_1"), &record())
        .await
        .unwrap_err();
    // THEN the limit is reached after one read
    assert!(matches!(err, StoreError::LimitReached(2)), "{err}");
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_a_context_frees_its_slot_in_the_quota_item_its_meta_names() {
    // GIVEN a context counted by the principal's quota
    let answers = vec![
        meta_with(&json!({"quota_sk": {"S": "QUOTA#key_1"}})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({})),
    ];
    let (base, received) = serve(answers).await;
    // WHEN it is deleted
    assert!(store(&base).delete("acme", "ctx_1").await.unwrap());
    // THEN its items go by their keys alone, and the slot is given back to that quota item
    let sent = received.lock().unwrap();
    let targets: Vec<&str> = sent.iter().map(Received::target).collect();
    let expected = ["Query", "DeleteItem", "BatchWriteItem", "UpdateItem"].map(|t| format!("DynamoDB_20120810.{t}"));
    assert_eq!(targets, expected);
    let deleted = &sent[2].body["RequestItems"]["mcpflow"][0]["DeleteRequest"]["Key"];
    assert_eq!(deleted, &json!({"pk": {"S": "CTX#acme#ctx_1"}, "sk": {"S": "META"}}));
    assert_eq!(sent[3].body["Key"]["sk"], json!({"S": "QUOTA#key_1"}));
    assert_eq!(sent[3].body["ExpressionAttributeNames"]["#id"], "ctx_1");
}

#[tokio::test]
async fn deleting_a_context_counted_per_user_id_before_frees_its_slot_there() {
    // GIVEN a context created while the quota was per user_id
    let answers = vec![
        meta_with(&json!({"quota_owner": {"S": "u1"}})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({})),
    ];
    let (base, received) = serve(answers).await;
    // WHEN it is deleted
    store(&base).delete("acme", "ctx_1").await.unwrap();
    // THEN the slot goes back to that user's old quota item
    assert_eq!(received.lock().unwrap()[3].body["Key"]["sk"], json!({"S": "OWNER#u1"}));
}
