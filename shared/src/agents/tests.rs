use serde_json::json;

use super::memory::InMemoryAgents;
use super::requests::{filter, heartbeat, registration};
use super::*;
use crate::auth::{AuthMethod, Principal, Role};
use crate::keys::{InMemoryKeyStore, KeyStore};

fn admin() -> Principal {
    Principal {
        tenant: "acme".try_into().unwrap(),
        subject: "k-admin".into(),
        role: Role::Admin,
        method: AuthMethod::ApiKey,
    }
}

fn brief_registration() -> serde_json::Value {
    json!({"name": "agent-name", "type": "worker", "capabilities": ["task-execution", "data-processing"],
           "endpoints": {"task": "http://agent:8080/task", "status": "http://agent:8080/status", "health": "http://agent:8080/health"},
           "resources": {"cpu": 4, "memory": "8GB", "gpu": true}})
}

#[test]
fn the_briefs_registration_is_accepted_as_written() {
    let r = registration(&brief_registration()).unwrap();
    assert_eq!((r.name.as_str(), r.agent_type), ("agent-name", AgentType::Worker));
    assert_eq!(r.capabilities, ["task-execution", "data-processing"]);
    assert_eq!(r.resources["memory"], "8GB");
}

#[test]
fn each_wrong_field_is_named() {
    let cases = [
        (json!({"type": "worker", "capabilities": []}), "name"),
        (json!({"name": "a", "type": "boss", "capabilities": []}), "type"),
        (
            json!({"name": "a", "type": "worker", "capabilities": "x"}),
            "capabilities",
        ),
        (
            json!({"name": "a", "type": "worker", "capabilities": ["ok", ""]}),
            "capabilities[1]",
        ),
        (
            json!({"name": "a", "type": "worker", "capabilities": [], "endpoints": {"task": "ftp://x"}}),
            "endpoints.task",
        ),
        (
            json!({"name": "a", "type": "worker", "capabilities": [], "resources": {"cpu": -1}}),
            "resources.cpu",
        ),
        (
            json!({"name": "a", "type": "worker", "capabilities": [], "owner": "me"}),
            "owner",
        ),
    ];
    for (body, field) in cases {
        match registration(&body) {
            Err(AgentError::Invalid { field: f, .. }) => assert_eq!(f, field, "{body}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(
        matches!(heartbeat(&json!({"current_load": 1.5})), Err(AgentError::Invalid { field, .. }) if field == "current_load")
    );
    assert!(
        matches!(heartbeat(&json!({"status": "asleep", "current_load": 0.1})), Err(AgentError::Invalid { field, .. }) if field == "status")
    );
    assert!(filter(Some("dead"), None, None).is_err());
    assert_eq!(heartbeat(&json!({"current_load": 1e-200})).unwrap().current_load, 0.0);
    for url in ["http://", "https://u:p@agent/h"] {
        let body = json!({"name": "a", "type": "worker", "capabilities": [], "endpoints": {"task": url}});
        assert!(
            matches!(registration(&body), Err(AgentError::Invalid { field, .. }) if field == "endpoints.task"),
            "{url}"
        );
    }
}

/// Agent `agt_1` of tenant `acme`, idle since 0, holding API key `key_id`.
fn an_agent(key_id: &str) -> Agent {
    Agent {
        agent_id: "agt_1".into(),
        tenant: "acme".into(),
        name: "a".into(),
        agent_type: AgentType::Worker,
        capabilities: vec![],
        endpoints: json!({}),
        resources: json!({}),
        reported_status: "idle".into(),
        current_load: 0.0,
        registered_at: String::new(),
        last_heartbeat: String::new(),
        last_heartbeat_ms: 0,
        key_id: key_id.into(),
    }
}

#[test]
fn an_agent_is_active_then_stale_then_inactive_as_it_stays_quiet() {
    let timeouts = AgentTimeouts {
        stale_after_secs: 60,
        inactive_after_secs: 300,
    };
    let agent = an_agent("k");
    assert_eq!(agent.liveness(timeouts, 60_000), Liveness::Active);
    assert_eq!(agent.liveness(timeouts, 60_001), Liveness::Stale);
    assert_eq!(agent.liveness(timeouts, 300_001), Liveness::Inactive);
    assert_eq!(agent.view(timeouts, 61_000)["status"], "stale");
}

#[tokio::test]
async fn a_registered_agent_heartbeats_with_its_own_token_only_and_its_token_goes_with_it() {
    let keys = std::sync::Arc::new(InMemoryKeyStore::default());
    let agents = InMemoryAgents::with_keys(keys.clone());
    let now = chrono::Utc::now();
    // GIVEN an agent registered by an admin
    let registered = service::register(&agents, &admin(), registration(&brief_registration()).unwrap(), now)
        .await
        .unwrap();
    let agent = &registered.agent;
    assert!(crate::ids::IdKind::Agent.matches(&agent.agent_id), "{}", agent.agent_id);
    let key = keys
        .find_by_hash(&crate::auth::apikey::hash(registered.token.expose()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((key.role, key.key_id.as_str()), (Role::Agent, agent.key_id.as_str()));
    // WHEN the admin sends its heartbeat, then the agent itself
    let beat = heartbeat(&json!({"status": "busy", "current_load": 0.5})).unwrap();
    let refused = service::heartbeat(&agents, &admin(), &agent.agent_id, &beat, now).await;
    let as_jwt = Principal {
        subject: agent.key_id.clone(),
        role: Role::Agent,
        method: AuthMethod::Jwt,
        ..admin()
    };
    let spoofed = service::heartbeat(&agents, &as_jwt, &agent.agent_id, &beat, now).await;
    let own = Principal {
        subject: agent.key_id.clone(),
        role: Role::Agent,
        ..admin()
    };
    let (_, after) = service::heartbeat(&agents, &own, &agent.agent_id, &beat, now)
        .await
        .unwrap();
    // THEN only the agent's own beat counts
    assert!(matches!(refused, Err(AgentError::NotThisAgent(_))));
    assert!(matches!(spoofed, Err(AgentError::NotThisAgent(_))));
    assert_eq!((after.reported_status.as_str(), after.current_load), ("busy", 0.5));
    let stored = service::get(&agents, &own, &agent.agent_id).await.unwrap();
    assert_eq!(stored, after);
    let unknown = service::heartbeat(&agents, &own, "agt_unknown", &beat, now).await;
    assert!(matches!(unknown, Err(AgentError::NotFound(_))));
    // AND listing filters by capability and type; deleting revokes its token
    let admin = admin();
    let by_capability = filter(None, None, Some("data-processing")).unwrap();
    let listed = service::list(
        &agents,
        &admin,
        &by_capability,
        AgentTimeouts::default(),
        now.timestamp_millis(),
    );
    assert_eq!(listed.await.unwrap().len(), 1);
    let validators = filter(None, Some("validator"), None).unwrap();
    let listed = service::list(
        &agents,
        &admin,
        &validators,
        AgentTimeouts::default(),
        now.timestamp_millis(),
    );
    assert!(listed.await.unwrap().is_empty());
    service::delete(&agents, &keys, &admin, &agent.agent_id).await.unwrap();
    // Its token is gone with it, so its place among the tenant's keys is free again.
    assert!(keys.list("acme").await.unwrap().is_empty());
    assert!(matches!(
        service::get(&agents, &admin, &agent.agent_id).await,
        Err(AgentError::NotFound(_))
    ));
}

/// An agent item as DynamoDB's JSON protocol spells it, holding API key `k`.
fn agent_item() -> serde_json::Value {
    json!({"pk": {"S": "TENANT#acme"}, "sk": {"S": "AGENT#agt_1"}, "agent_id": {"S": "agt_1"},
        "tenant": {"S": "acme"}, "name": {"S": "a"}, "agent_type": {"S": "worker"}, "capabilities": {"L": []},
        "endpoints": {"S": "{}"}, "resources": {"S": "{}"}, "reported_status": {"S": "idle"},
        "current_load": {"N": "0.2"}, "registered_at": {"S": "2026-12-04T10:00:00Z"},
        "last_heartbeat": {"S": "2026-12-04T10:00:00Z"}, "last_heartbeat_ms": {"N": "1"}, "key_id": {"S": "k"}})
}

#[tokio::test]
async fn a_heartbeat_is_one_write_conditional_on_the_agents_own_key() {
    use crate::providers::replay::{serve, Answer};
    use store::AgentStore;
    let refusal = |item: Option<serde_json::Value>| {
        let mut body = json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed"});
        if let Some(item) = item {
            body["Item"] = item;
        }
        Answer::json(400, &body)
    };
    // GIVEN a table that takes the first beat, then refuses one while the agent exists, then one
    // when it does not
    let answers = vec![
        Answer::ok(&json!({"Attributes": agent_item()})),
        refusal(Some(agent_item())),
        refusal(None),
    ];
    let (base, received) = serve(answers).await;
    let agents = dynamodb::DynamoDbAgents::new(crate::dynamodb::replay_client(&base), "mcpflow".into());
    let beat = heartbeat(&json!({"status": "busy", "current_load": 0.5})).unwrap();
    // WHEN its key beats, then another key, then a key of an agent that is gone
    let before = agents
        .heartbeat("acme", "agt_1", "k", &beat, ("2026-12-04T10:01:00Z", 2))
        .await
        .unwrap();
    let other = agents
        .heartbeat("acme", "agt_1", "k2", &beat, ("2026-12-04T10:01:00Z", 2))
        .await;
    let gone = agents
        .heartbeat("acme", "agt_1", "k", &beat, ("2026-12-04T10:01:00Z", 2))
        .await;
    // THEN each is one UpdateItem on the agent's key, and the answer is the agent before the beat
    assert_eq!((before.reported_status.as_str(), before.current_load), ("idle", 0.2));
    assert!(matches!(other, Err(AgentError::NotThisAgent(_))), "{other:?}");
    assert!(matches!(gone, Err(AgentError::NotFound(_))), "{gone:?}");
    let sent = received.lock().unwrap();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|r| r.target() == "DynamoDB_20120810.UpdateItem"));
    assert_eq!(
        sent[0].body["ConditionExpression"],
        "attribute_exists(pk) AND key_id = :key"
    );
    assert_eq!(sent[1].body["ExpressionAttributeValues"][":key"], json!({"S": "k2"}));
    assert_eq!(sent[0].body["ReturnValuesOnConditionCheckFailure"], "ALL_OLD");
}

#[tokio::test]
async fn an_agent_and_its_token_are_one_transaction_after_the_count_of_the_tenants_keys() {
    use crate::providers::replay::{serve, Answer};
    use store::AgentStore;
    let key_item = |i: usize| {
        json!({"pk": {"S": "TENANT#acme"}, "sk": {"S": format!("APIKEY#k{i}")}, "key_id": {"S": format!("k{i}")},
            "tenant": {"S": "acme"}, "role": {"S": "agent"}, "name": {"S": "n"},
            "created_at": {"S": "2026-12-04T10:00:00Z"}, "hash": {"S": "h"}, "revoked": {"BOOL": false}})
    };
    let full: Vec<_> = (0..crate::keys::MAX_KEYS_PER_TENANT).map(key_item).collect();
    let cancelled = Answer::json(
        400,
        &json!({"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled", "CancellationReasons": [{"Code": "None"}, {"Code": "None"},
            {"Code": "ConditionalCheckFailed"}]}),
    );
    // GIVEN a table where the tenant holds 1 key, that takes a registration, then refuses one (its
    // agent item exists), then holds the tenant's most keys
    let answers = vec![
        Answer::ok(&json!({"Items": [key_item(0)]})),
        Answer::ok(&json!({})),
        Answer::ok(&json!({"Items": [key_item(0)]})),
        cancelled,
        Answer::ok(&json!({"Items": full})),
    ];
    let (base, received) = serve(answers).await;
    let agents = dynamodb::DynamoDbAgents::new(crate::dynamodb::replay_client(&base), "mcpflow".into());
    let token = crate::keys::admin::new_key(&"acme".try_into().unwrap(), "agent agt_1", Role::Agent, "t").unwrap();
    let agent = an_agent(&token.record.key_id);
    // WHEN it is registered three times
    let first = agents.register(&agent, &token.record).await;
    let taken = agents.register(&agent, &token.record).await;
    let full = agents.register(&agent, &token.record).await;
    // THEN the first is a Query of the keys and one transaction of the key's two items and the
    // agent, each on a free key; the refused one is an error, and a full tenant writes nothing
    assert!(first.is_ok(), "{first:?}");
    let taken = taken
        .err()
        .map(|e| format!("{:#}", anyhow::Error::new(e)))
        .unwrap_or_default();
    assert!(taken.contains("item 0 written with key"), "{taken}");
    assert!(matches!(full, Err(AgentError::KeysExhausted)), "{full:?}");
    let sent = received.lock().unwrap();
    let targets: Vec<_> = sent
        .iter()
        .map(|r| r.target().trim_start_matches("DynamoDB_20120810."))
        .collect();
    assert_eq!(
        targets,
        ["Query", "TransactWriteItems", "Query", "TransactWriteItems", "Query"]
    );
    assert_eq!(
        (
            &sent[0].body["ExpressionAttributeValues"][":pk"],
            &sent[0].body["ExpressionAttributeValues"][":prefix"]
        ),
        (&json!({"S": "TENANT#acme"}), &json!({"S": "APIKEY#"}))
    );
    let items = sent[1].body["TransactItems"].as_array().unwrap();
    let puts: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i["Put"]["Item"]["sk"]["S"].as_str().unwrap(),
                &i["Put"]["ConditionExpression"],
            )
        })
        .collect();
    assert_eq!(puts.len(), 3);
    assert!(puts.iter().all(|(_, c)| *c == "attribute_not_exists(pk)"), "{puts:?}");
    assert_eq!(puts[1].0, format!("APIKEY#{}", token.record.key_id));
    assert_eq!(puts[2].0, "AGENT#agt_1");
}
