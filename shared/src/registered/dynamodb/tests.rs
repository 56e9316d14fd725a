//! The registry's writes against replayed DynamoDB answers: what each transaction asks for, and
//! what a cancelled one means (the reasons are read by `crate::dynamodb::transactions`).

use serde_json::{json, Value};

use super::*;
use crate::providers::replay::{serve, Answer, Received};

fn registry(base: &str) -> DynamoDbRegistry {
    DynamoDbRegistry::new(crate::dynamodb::replay_client(base), "mcpflow".into())
}

/// A `TransactionCanceledException` with one reason code per item.
fn cancelled_with(codes: &[&str]) -> Answer {
    let reasons: Vec<Value> = codes.iter().map(|c| json!({"Code": c})).collect();
    Answer::json(
        400,
        &json!({"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons {codes:?}"),
            "CancellationReasons": reasons}),
    )
}

fn doc() -> Value {
    json!({"name": "weather"})
}

#[tokio::test]
async fn a_registration_is_one_transaction_of_the_item_and_the_counter() {
    // GIVEN a table that accepts the transaction
    let (base, received) = serve(vec![Answer::ok(&json!({}))]).await;
    // WHEN a tool is registered
    registry(&base)
        .put("acme", Kind::Tool, "weather", &doc())
        .await
        .unwrap();
    // THEN one transaction puts the item if its key is free and adds one to the counter below 100
    let sent = received.lock().unwrap();
    assert_eq!(
        (sent.len(), sent[0].target()),
        (1, "DynamoDB_20120810.TransactWriteItems")
    );
    let [put, count] = [&sent[0].body["TransactItems"][0], &sent[0].body["TransactItems"][1]];
    assert_eq!(put["Put"]["Item"]["sk"], json!({"S": "TOOL#weather"}));
    assert_eq!(put["Put"]["ConditionExpression"], "attribute_not_exists(sk)");
    assert_eq!(count["Update"]["Key"]["pk"], json!({"S": "TENANT#acme"}));
    assert_eq!(count["Update"]["Key"]["sk"], json!({"S": "REGCOUNT#TOOL"}));
    assert_eq!(count["Update"]["UpdateExpression"], "ADD #count :by, #version :one");
    assert_eq!(count["Update"]["ConditionExpression"], "#count < :limit");
    assert_eq!(
        count["Update"]["ExpressionAttributeValues"][":limit"],
        json!({"N": "100"})
    );
    assert_eq!(count["Update"]["ExpressionAttributeValues"][":by"], json!({"N": "1"}));
}

#[tokio::test]
async fn a_taken_key_is_already_registered_even_when_the_counter_also_refused() {
    let (base, received) = serve(vec![cancelled_with(&[
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
    ])])
    .await;
    let err = registry(&base)
        .put("acme", Kind::Prompt, "greet", &doc())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::Exists { kind: Kind::Prompt, ref key } if key == "greet"),
        "{err}"
    );
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_counter_at_its_limit_refuses_the_registration() {
    // GIVEN a counter that refuses and exists
    let counter =
        json!({"Item": {"pk": {"S": "TENANT#acme"}, "sk": {"S": "REGCOUNT#RESOURCE"}, "item_count": {"N": "100"}}});
    let answers = vec![
        cancelled_with(&["None", "ConditionalCheckFailed"]),
        Answer::ok(&counter),
    ];
    let (base, received) = serve(answers).await;
    // WHEN a resource is registered
    let err = registry(&base)
        .put("acme", Kind::Resource, "docs://x", &doc())
        .await
        .unwrap_err();
    // THEN the limit is reached, and nothing else was tried
    assert!(matches!(err, RegistryError::LimitReached), "{err}");
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].target(), "DynamoDB_20120810.GetItem");
    assert_eq!(sent[1].body["ConsistentRead"], true);
}

#[tokio::test]
async fn a_missing_counter_is_created_from_a_count_of_the_items_then_the_write_tried_again() {
    // GIVEN a tenant whose 3 tools predate the counter
    let answers = vec![
        cancelled_with(&["None", "ConditionalCheckFailed"]),
        Answer::ok(&json!({})),
        Answer::ok(&json!({"Count": 3, "ScannedCount": 3})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({})),
    ];
    let (base, received) = serve(answers).await;
    // WHEN it registers a fourth
    registry(&base)
        .put("acme", Kind::Tool, "weather", &doc())
        .await
        .unwrap();
    // THEN the counter was made from a consistent count of its items, then the transaction retried
    let sent = received.lock().unwrap();
    let targets: Vec<&str> = sent.iter().map(Received::target).collect();
    assert_eq!(
        targets,
        [
            "TransactWriteItems",
            "GetItem",
            "Query",
            "PutItem",
            "TransactWriteItems"
        ]
        .map(|t| format!("DynamoDB_20120810.{t}"))
    );
    assert_eq!(
        (&sent[2].body["Select"], &sent[2].body["ConsistentRead"]),
        (&json!("COUNT"), &json!(true))
    );
    assert_eq!(sent[2].body["ExpressionAttributeValues"][":p"], json!({"S": "TOOL#"}));
    assert_eq!(sent[3].body["Item"]["item_count"], json!({"N": "3"}));
    assert_eq!(sent[3].body["ConditionExpression"], "attribute_not_exists(sk)");
}

#[tokio::test]
async fn a_transaction_that_met_another_is_tried_again() {
    let answers = vec![cancelled_with(&["None", "TransactionConflict"]), Answer::ok(&json!({}))];
    let (base, received) = serve(answers).await;
    registry(&base)
        .put("acme", Kind::Tool, "weather", &doc())
        .await
        .unwrap();
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_deletion_is_one_transaction_and_deleting_nothing_says_so() {
    // GIVEN a table that accepts one deletion, then finds nothing to delete
    let answers = vec![
        Answer::ok(&json!({})),
        cancelled_with(&["ConditionalCheckFailed", "None"]),
    ];
    let (base, received) = serve(answers).await;
    let registry = registry(&base);
    // WHEN the same tool is deleted twice
    let first = registry.delete("acme", Kind::Tool, "weather").await.unwrap();
    let second = registry.delete("acme", Kind::Tool, "weather").await.unwrap();
    // THEN the first deleted it and took one from the counter; the second found none
    assert_eq!((first, second), (true, false));
    let sent = received.lock().unwrap();
    let [delete, count] = [&sent[0].body["TransactItems"][0], &sent[0].body["TransactItems"][1]];
    assert_eq!(delete["Delete"]["ConditionExpression"], "attribute_exists(sk)");
    assert_eq!(count["Update"]["ExpressionAttributeValues"][":by"], json!({"N": "-1"}));
    assert_eq!(count["Update"]["ConditionExpression"], "attribute_exists(#count)");
}
