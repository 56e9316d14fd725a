use serde_json::json;

use super::*;

fn agent(id: &str, caps: &[&str], load: f64, heard_ms: i64) -> Agent {
    let mut a: Agent = serde_json::from_value(json!({"agent_id": id, "name": id, "type": "worker",
        "capabilities": caps, "endpoints": {}, "resources": {}, "reported_status": "idle", "current_load": load,
        "registered_at": "x", "last_heartbeat": "x", "key_id": "k"}))
    .unwrap();
    a.last_heartbeat_ms = heard_ms;
    a
}

#[test]
fn the_least_loaded_active_capable_agent_with_room_gets_the_stage() {
    let timeouts = AgentTimeouts {
        stale_after_secs: 30,
        inactive_after_secs: 300,
    };
    let now = 100_000;
    let agents = [
        agent("busy", &["analysis"], 0.9, now),
        agent("idle-but-stale", &["analysis"], 0.0, now - 31_000),
        agent("other-type", &["output"], 0.0, now),
        agent("light", &["analysis", "gpu"], 0.2, now),
        agent("full", &["analysis"], 1.0, now),
    ];
    let ids = |stage: &str| -> Vec<String> {
        capable_agents(&agents, stage, timeouts, now)
            .iter()
            .map(|a| a.agent_id.clone())
            .collect()
    };
    assert_eq!(
        ids("analysis"),
        ["light", "busy"],
        "the full and the stale one get nothing"
    );
    assert!(ids("validation").is_empty());
}

#[test]
fn a_stage_without_an_agent_is_looked_at_again_later_and_later() {
    let delays: Vec<u64> = (1..=9).map(no_agent_delay).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 32, 32, 32]);
}

#[test]
fn a_refused_heartbeat_drops_a_waiting_stage_only_when_its_attempt_is_over() {
    // An attempt that timed out or whose execution ended: the message is done with
    assert_eq!(refused_heartbeat("TaskTimedOut", 1, 30, 100, 60), Dispatched::Handled);
    assert_eq!(
        refused_heartbeat("TaskDoesNotExist", 3, 30, 100, 60),
        Dispatched::Handled
    );
    // A token that takes no heartbeat yet, within the attempt's first heartbeat: looked at again
    assert_eq!(refused_heartbeat("InvalidToken", 1, 30, 50, 60), Dispatched::NoAgent(1));
    assert_eq!(
        refused_heartbeat("InvalidToken", 4, 30, 7_000, 60),
        Dispatched::NoAgent(8)
    );
    // and always within the attempt's heartbeat
    assert_eq!(
        refused_heartbeat("InvalidToken", 9, 5, 9_000, 10),
        Dispatched::NoAgent(5)
    );
    // A token still refused a whole heartbeat after the message was sent never will be taken
    assert_eq!(
        refused_heartbeat("InvalidToken", 5, 30, 60_000, 60),
        Dispatched::Handled
    );
}

#[test]
fn state_machine_messages_read_as_the_asl_writes_them() {
    let m: StageMessage = serde_json::from_value(json!({"kind": "stage", "tenant": "acme", "execution_id": "exe_1",
        "stage": 2, "attempt": 1, "timeout": 30, "heartbeat": 10, "token": "t"}))
    .unwrap();
    assert!(matches!(
        m,
        StageMessage::Stage {
            stage: 2,
            attempt: 1,
            ..
        }
    ));
    let f: StageMessage = serde_json::from_value(json!({"kind": "finished", "tenant": "acme", "execution_id": "exe_1",
        "status": "failed", "failure": {"Error": "StageFailed", "Cause": "{}"}}))
    .unwrap();
    assert!(matches!(f, StageMessage::Finished { .. }));
    assert_eq!(
        failure_text(&json!({"Error": "States.Timeout", "Cause": null})),
        "States.Timeout"
    );
}
