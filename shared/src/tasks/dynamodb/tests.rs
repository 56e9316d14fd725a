//! The tasks adapter against replayed DynamoDB answers: the expiry and index keys each write carries,
//! and the `Query` each listing filter becomes.

use serde_json::{json, Value};

use super::*;
use crate::dynamodb::replay_client;
use crate::providers::replay::{serve, Answer};
use crate::tasks::listing::{task_filter, TaskFilter, TaskListing};
use crate::tasks::model::{TaskType, TokenUsage};

const ID: &str = "task_019a2b3c4d5e0123456789abcdef";
const CTX: &str = "ctx_019a2b3c4d5e0123456789abcdef";
const NOW: i64 = 1_900_000_000;

fn store(base: &str) -> DynamoDbTaskStore {
    DynamoDbTaskStore::new(replay_client(base), "mcpflow".into())
}

fn task(id: &str, context: Option<&str>, user: Option<&str>, expires_at: i64) -> Task {
    let mut t: Task = serde_json::from_value(json!({"task_id": id, "type": "mcp.add_prompt", "status": "pending",
        "priority": 5, "context_id": context, "user_id": user, "model_id": "local-echo",
        "created_at": "2026-11-22T10:00:00.000Z", "started_at": null, "finished_at": null, "attempts": 0,
        "provider": null, "model": null, "usage": null, "output": null, "error": null, "expires_at": expires_at}))
    .unwrap();
    t.tenant = "acme".into();
    t
}

/// The task as DynamoDB's JSON protocol spells its item.
fn wire(task: &Task) -> Value {
    let doc = serde_json::to_string(task).unwrap();
    json!({"pk": {"S": "TENANT#acme"}, "sk": {"S": format!("TASK#{}", task.task_id)}, "doc": {"S": doc},
        "status": {"S": task.status.as_str()}, "attempts": {"N": task.attempts.to_string()},
        "expires_at": {"N": task.expires_at.unwrap().to_string()}})
}

fn page(tasks: &[Task]) -> Answer {
    let items: Vec<Value> = tasks.iter().map(wire).collect();
    Answer::ok(&json!({"Items": items, "Count": tasks.len(), "ScannedCount": tasks.len()}))
}

#[tokio::test]
async fn a_new_task_carries_its_expiry_and_one_index_key_per_filter_that_applies_to_it() {
    // GIVEN a table that takes the transaction
    let (base, received) = serve(vec![Answer::ok(&json!({}))]).await;
    // WHEN a prompt's task of context ctx_1 and user u#1 is created
    let created = task(ID, Some("ctx_1"), Some("u#1"), NOW + 60);
    store(&base).create(&created).await.unwrap();
    // THEN its item has the TTL attribute and the key of each index, sorted by its id
    let sent = received.lock().unwrap();
    let item = &sent[0].body["TransactItems"][0]["Put"]["Item"];
    assert_eq!(item["expires_at"], json!({"N": (NOW + 60).to_string()}));
    let keys = [
        ("gsi1", "TASKS#acme#STATUS#pending"),
        ("gsi2", "TASKS#acme#CONTEXT#ctx_1"),
        ("gsi3", "TASKS#acme#USER#u%231"),
        ("gsi4", "TASKS#acme#TYPE#mcp.add_prompt"),
    ];
    for (index, partition) in keys {
        assert_eq!(item[format!("{index}pk")], json!({"S": partition}), "{index}");
        assert_eq!(item[format!("{index}sk")], json!({"S": ID}), "{index}");
    }
}

#[tokio::test]
async fn a_task_without_context_or_user_is_left_out_of_those_indexes() {
    let (base, received) = serve(vec![Answer::ok(&json!({}))]).await;
    store(&base).create(&task(ID, None, None, NOW + 60)).await.unwrap();
    let item = &received.lock().unwrap()[0].body["TransactItems"][0]["Put"]["Item"];
    assert_eq!((item.get("gsi2pk"), item.get("gsi3pk")), (None, None));
    assert_eq!(item["gsi1pk"], json!({"S": "TASKS#acme#STATUS#pending"}));
}

#[tokio::test]
async fn starting_and_cancelling_move_the_status_key_in_the_same_conditional_write() {
    // GIVEN a table whose conditions hold (a start's new image, a cancel's old one; then counters)
    let mut running = task(ID, Some("ctx_1"), None, NOW + 60);
    (running.status, running.attempts) = (TaskStatus::Running, 1);
    let answers = vec![
        Answer::ok(&json!({"Attributes": wire(&running)})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({"Attributes": wire(&running)})),
        Answer::ok(&json!({})),
    ];
    let (base, received) = serve(answers).await;
    // WHEN the task is started, then cancelled
    let store = store(&base);
    store.start("acme", ID, "now", 0, 1000).await.unwrap();
    store.cancel("acme", ID, "now").await.unwrap();
    // THEN each update sets the status index key together with the status, under its condition
    let sent = received.lock().unwrap();
    for (i, status) in [(0, "running"), (2, "cancelled")] {
        let update = &sent[i].body;
        assert_eq!(sent[i].target(), "DynamoDB_20120810.UpdateItem");
        assert!(update["UpdateExpression"]
            .as_str()
            .unwrap()
            .contains("#ipk = :ipk, #isk = :isk"));
        assert!(
            update["ConditionExpression"].as_str().unwrap().contains("#s"),
            "{update}"
        );
        assert_eq!(update["ExpressionAttributeNames"]["#ipk"], "gsi1pk");
        let partition = format!("TASKS#acme#STATUS#{status}");
        assert_eq!(update["ExpressionAttributeValues"][":ipk"], json!({"S": partition}));
        assert_eq!(update["ExpressionAttributeValues"][":isk"], json!({"S": ID}));
        // AND takes the task out of the outbox in the same write
        let expression = update["UpdateExpression"].as_str().unwrap();
        assert!(
            expression.ends_with(", gsi5pk, gsi5sk, outbox") || expression.ends_with("REMOVE gsi5pk, gsi5sk, outbox"),
            "{expression}"
        );
    }
}

#[tokio::test]
async fn a_queued_task_carries_its_outbox_entry_on_its_own_item_and_a_withdrawal_is_four_writes() {
    // GIVEN a table that takes the transactions
    let (base, received) = serve(vec![Answer::ok(&json!({})), Answer::ok(&json!({}))]).await;
    let queued = task(ID, Some(CTX), None, NOW + 60);
    let unsent = Unsent {
        band: crate::tasks::model::Band::Medium,
        group: CTX.into(),
        message: crate::tasks::store::TaskMessage {
            tenant: "acme".into(),
            task_id: ID.into(),
        },
        since_ms: 1_700_000_000_000,
    };
    // WHEN it is created queued, then withdrawn with its prompt
    let store = store(&base);
    store.create_queued(&queued, None, &unsent).await.unwrap();
    let node: crate::contexts::model::Node = serde_json::from_value(json!({"node_id": "node_1", "seq": 3,
        "content": "hi", "content_type": "text", "metadata": {}, "created_at": "now"}))
    .unwrap();
    assert!(store.withdraw(&queued, Some((&node, 100)), &unsent).await.unwrap());
    // THEN the create is the task (with its outbox index keys and message) and its counters
    let sent = received.lock().unwrap();
    let writes = sent[0].body["TransactItems"].as_array().unwrap();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let item = &writes[0]["Put"]["Item"];
    assert_eq!(
        item["gsi5pk"]["S"].as_str().unwrap(),
        table_keys::outbox_partition(table_keys::shard_of(ID, outbox::SHARDS))
    );
    assert!(item["gsi5sk"]["S"]
        .as_str()
        .unwrap()
        .starts_with("001700000000000#acme#"));
    assert_eq!(item["outbox"]["M"]["group"], json!({"S": CTX}));
    // AND the withdrawal deletes the task, its counters, its node and the bytes, and nothing else
    assert_eq!(sent[1].body["TransactItems"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn finishing_rewrites_the_status_key_and_keeps_the_expiry() {
    // GIVEN a running task
    let mut running = task(ID, Some("ctx_1"), None, NOW + 60);
    (running.status, running.attempts) = (TaskStatus::Running, 1);
    let (base, received) = serve(vec![Answer::ok(&json!({}))]).await;
    // WHEN it fails
    let failed = Finish::Failed {
        code: "PROVIDER_FAILED",
        error: "down".into(),
        stream: None,
    };
    assert!(store(&base).finish(&running, "now", &failed, None).await.unwrap());
    // THEN one conditional put, with no read first, moves it to the failed partition and keeps its TTL
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let put = &sent[0].body["TransactItems"][0]["Put"];
    assert_eq!(put["ConditionExpression"], "#s = :running AND attempts = :attempt");
    assert_eq!(put["Item"]["gsi1pk"], json!({"S": "TASKS#acme#STATUS#failed"}));
    assert_eq!(put["Item"]["expires_at"], json!({"N": (NOW + 60).to_string()}));
}

#[tokio::test]
async fn a_prompts_reply_is_written_in_its_slot_by_the_finish_itself() {
    // GIVEN a running prompt's task, and its reply for slot 3
    let mut running = task(ID, Some("ctx_1"), None, NOW + 60);
    (running.status, running.attempts) = (TaskStatus::Running, 1);
    let reply: crate::contexts::model::Node = serde_json::from_value(json!({"node_id": "node_3", "seq": 3,
        "content": "hi", "content_type": "text", "metadata": {"role": "assistant"},
        "created_at": "2026-11-22T10:00:00.000Z"}))
    .unwrap();
    let (base, received) = serve(vec![Answer::ok(&json!({}))]).await;
    // WHEN it completes
    let completed = Finish::Completed {
        provider: "local".into(),
        model: "echo".into(),
        usage: TokenUsage::default(),
        output: "hi".into(),
        stream: None,
    };
    assert!(store(&base)
        .finish(&running, "now", &completed, Some((&reply, NOW + 90)))
        .await
        .unwrap());
    // THEN one transaction holds the finished task, the counters and the reply, only into an empty slot
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 1);
    let items = sent[0].body["TransactItems"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let node = &items[2]["Put"];
    assert_eq!(node["Item"]["pk"], json!({"S": "CTX#acme#ctx_1"}));
    assert_eq!(node["Item"]["expires_at"], json!({"N": (NOW + 90).to_string()}));
    assert_eq!(node["ConditionExpression"], "attribute_not_exists(pk)");
}

/// The `Query` a listing with `filter` sends (after `after`), answered with no items.
async fn query_of(filter: &TaskFilter, after: Option<&str>) -> Value {
    let (base, received) = serve(vec![page(&[])]).await;
    store(&base).list_tasks("acme", filter, 20, after, NOW).await.unwrap();
    let sent = received.lock().unwrap();
    assert_eq!((sent.len(), sent[0].target()), (1, "DynamoDB_20120810.Query"));
    sent[0].body.clone()
}

/// Each filter alone, with the index and partition that serve it.
fn single_filters() -> Vec<(TaskFilter, &'static str, String)> {
    let only = |s, t, c, u| task_filter(s, t, c, u).unwrap();
    let status = only(Some("running"), None, None, None);
    let context = only(None, None, Some(CTX), None);
    let user = only(None, None, None, Some("u#1"));
    let kind = only(None, Some("ai.completion"), None, None);
    vec![
        (status, "gsi1", "TASKS#acme#STATUS#running".to_owned()),
        (context, "gsi2", format!("TASKS#acme#CONTEXT#{CTX}")),
        (user, "gsi3", "TASKS#acme#USER#u%231".to_owned()),
        (kind, "gsi4", "TASKS#acme#TYPE#ai.completion".to_owned()),
    ]
}

#[tokio::test]
async fn each_filter_alone_is_a_query_on_its_own_index_key() {
    for (filter, index, partition) in single_filters() {
        // WHEN tasks are listed by that filter alone
        let query = query_of(&filter, None).await;
        // THEN one page is a Query of the filter's index partition, newest first, a page and one long,
        // filtered only by expiry
        assert_eq!(query["IndexName"], index, "{query}");
        assert_eq!(query["KeyConditionExpression"], "#k = :k");
        assert_eq!(query["ExpressionAttributeNames"]["#k"], format!("{index}pk"));
        assert_eq!(query["ExpressionAttributeValues"][":k"], json!({"S": partition}));
        assert_eq!(
            (&query["ScanIndexForward"], &query["Limit"]),
            (&json!(false), &json!(21))
        );
        assert_eq!(query["FilterExpression"], "(attribute_not_exists(#exp) OR #exp > :now)");
        assert_eq!(
            query["ExpressionAttributeValues"][":now"],
            json!({"N": NOW.to_string()})
        );
    }
}

#[tokio::test]
async fn combined_filters_read_the_most_selective_index_and_check_the_others_on_their_keys() {
    // WHEN tasks are listed by status, type and user together
    let filter = TaskFilter {
        status: Some(TaskStatus::Completed),
        task_type: Some(TaskType::AddPrompt),
        user_id: Some("u1".into()),
        context_id: None,
    };
    let query = query_of(&filter, None).await;
    // THEN the user index answers; status and type are a filter on their index keys, with no page limit
    assert_eq!(query["IndexName"], "gsi3");
    assert_eq!(
        query["FilterExpression"],
        "(attribute_not_exists(#exp) OR #exp > :now) AND #f0 = :f0 AND #f1 = :f1"
    );
    let names = &query["ExpressionAttributeNames"];
    assert_eq!((&names["#f0"], &names["#f1"]), (&json!("gsi1pk"), &json!("gsi4pk")));
    assert_eq!(
        query["ExpressionAttributeValues"][":f0"],
        json!({"S": "TASKS#acme#STATUS#completed"})
    );
    assert_eq!(query.get("Limit"), None);
}

#[tokio::test]
async fn a_cursor_starts_an_index_read_just_after_its_task() {
    let filter = TaskFilter {
        context_id: Some("ctx_1".into()),
        ..TaskFilter::default()
    };
    let query = query_of(&filter, Some(ID)).await;
    let start = json!({"pk": {"S": "TENANT#acme"}, "sk": {"S": format!("TASK#{ID}")},
        "gsi2pk": {"S": "TASKS#acme#CONTEXT#ctx_1"}, "gsi2sk": {"S": ID}});
    assert_eq!(query["ExclusiveStartKey"], start);
}

#[tokio::test]
async fn an_unfiltered_listing_reads_the_tenant_partition_and_never_serves_an_expired_task() {
    // GIVEN a partition answering three tasks, the newest past its expiry but not yet deleted
    let ids = [
        "task_000000000003aaaaaaaaaaaaaaaa",
        "task_000000000002aaaaaaaaaaaaaaaa",
        "task_000000000001aaaaaaaaaaaaaaaa",
    ];
    let tasks = [
        task(ids[0], None, None, NOW),
        task(ids[1], None, None, NOW + 1),
        task(ids[2], None, None, NOW + 1),
    ];
    let (base, received) = serve(vec![page(&tasks)]).await;
    // WHEN a page of one is listed
    let (listed, last) = store(&base)
        .list_tasks("acme", &TaskFilter::default(), 1, None, NOW)
        .await
        .unwrap();
    // THEN the table partition was read, and the expired task is neither served nor counted
    let query = &received.lock().unwrap()[0].body;
    assert_eq!(query.get("IndexName"), None);
    assert_eq!(query["KeyConditionExpression"], "pk = :pk AND begins_with(sk, :p)");
    let got: Vec<&str> = listed.iter().map(|t| t.task_id.as_str()).collect();
    assert_eq!((got, last.as_deref()), (vec![ids[1]], Some(ids[1])));
}

#[tokio::test]
async fn a_read_task_has_the_expiry_its_item_carries() {
    let (base, _) = serve(vec![Answer::ok(&json!({"Item": wire(&task(ID, None, None, NOW))}))]).await;
    let got = store(&base).get("acme", ID).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(NOW));
    assert!(got.expired(NOW) && !got.expired(NOW - 1));
}

#[tokio::test]
async fn a_counters_update_refused_by_a_transaction_on_its_item_is_tried_again() {
    let error = |kind: &str| {
        Answer::json(
            400,
            &json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": "refused"}),
        )
    };
    // GIVEN a table whose counters item is held by a transaction once, then free; and one that refuses
    // the update as invalid
    let (base, received) = serve(vec![error("TransactionConflictException"), Answer::ok(&json!({}))]).await;
    let (invalid, refused) = serve(vec![error("ValidationException")]).await;
    // WHEN each adds to the counters
    let adds = [("pending".to_owned(), -1)];
    store(&base).bump("acme", ID, &adds).await;
    store(&invalid).bump("acme", ID, &adds).await;
    // THEN the conflict is tried again and the update lands; the invalid one is not repeated
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.target() == "DynamoDB_20120810.UpdateItem"));
    assert_eq!(sent[0].body, sent[1].body);
    assert_eq!(refused.lock().unwrap().len(), 1);
}
