//! How the mcpflow table's partition and sort keys are spelled: components joined with `#`, each
//! component escaped first, so that no caller-supplied value can reach into another key.
//!
//! Escaping percent-encodes exactly two characters in each component: `%` → `%25` and `#` → `%23`.
//! A joined key therefore has one `#` per boundary and no other, and decodes back to its components
//! in exactly one way: `("a#b", "c")` is `a%23b#c`, `("a", "b#c")` is `a#b%23c`. Every adapter builds
//! the keys that embed a tenant, an id, a name or any other value through [`join`]; fixed prefixes
//! (`TENANT`, `CTX`, `TASK`, …) are components like the others.
//!
//! Values that contain neither character (every valid tenant — see [`crate::tenant`] — and every id the
//! system mints) are spelled as before, so items written before this encoding keep their keys.

use std::borrow::Cow;

/// `component` with `%` and `#` percent-encoded (borrowed when it has neither).
#[must_use]
pub fn escape(component: &str) -> Cow<'_, str> {
    if !component.contains(['%', '#']) {
        return Cow::Borrowed(component);
    }
    let mut escaped = String::with_capacity(component.len() + 4);
    for c in component.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '#' => escaped.push_str("%23"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// The key made of `components`: each one [`escape`]d, joined with `#`.
#[must_use]
pub fn join(components: &[&str]) -> String {
    let mut key = String::new();
    for (i, component) in components.iter().enumerate() {
        if i > 0 {
            key.push('#');
        }
        key.push_str(&escape(component));
    }
    key
}

/// A key prefix for `begins_with` on a sort key: the joined `components` and the `#` after them.
#[must_use]
pub fn prefix(components: &[&str]) -> String {
    let mut key = join(components);
    key.push('#');
    key
}

/// `TENANT#<tenant>`: the partition of a tenant's tasks, listings, keys, counters and registry.
#[must_use]
pub fn tenant_partition(tenant: &str) -> String {
    join(&["TENANT", tenant])
}

// The key of every item type, one function each; the access-pattern table in `super`'s module doc
// says which operation reads and writes each.

/// `CTX#<tenant>#<context id>`: the partition of one context (its `META` item and its nodes).
#[must_use]
pub fn context_partition(tenant: &str, context_id: &str) -> String {
    join(&["CTX", tenant, context_id])
}

/// `META`: the sort key of a context's metadata item.
pub const CONTEXT_META: &str = "META";

/// `NODE#<seq, 10 digits>`: a node's sort key, so nodes sort in the order they were added.
#[must_use]
pub fn node_sort(seq: u64) -> String {
    format!("NODE#{seq:010}")
}

/// `CONTEXT#<context id>`: a context's listing entry in the tenant partition.
#[must_use]
pub fn context_entry_sort(context_id: &str) -> String {
    join(&["CONTEXT", context_id])
}

/// `QUOTA#<subject>`: a principal's live-context count in the tenant partition.
#[must_use]
pub fn quota_sort(subject: &str) -> String {
    join(&["QUOTA", subject])
}

/// `OWNER#<owner>`: a quota item from before the quota was per principal (read, never written).
#[must_use]
pub fn legacy_quota_sort(owner: &str) -> String {
    join(&["OWNER", owner])
}

/// `TASK#<task id>`: a task in the tenant partition.
#[must_use]
pub fn task_sort(task_id: &str) -> String {
    join(&["TASK", task_id])
}

/// `TASKS#<tenant>#<what>#<value>`: a task's partition in one of the four task indexes (`what` is
/// `STATUS`, `CONTEXT`, `USER` or `TYPE`; the index's sort key is the task id).
#[must_use]
pub fn task_index_partition(tenant: &str, what: &str, value: &str) -> String {
    join(&["TASKS", tenant, what, value])
}

/// Which of `shards` items an id's writes go to: spreads one tenant's or one table's hot item.
#[must_use]
pub fn shard_of(id: &str, shards: u32) -> u32 {
    id.bytes()
        .fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % shards
}

/// `STATS#<shard>`: one of a tenant's task counter items in the tenant partition.
#[must_use]
pub fn task_stats_sort(shard: u32) -> String {
    join(&["STATS", &shard.to_string()])
}

/// `OUTBOX#<shard>`: one of the outbox index's partitions (`gsi5pk` of a queued task not yet started,
/// or of a streamed completion its function took and runs).
#[must_use]
pub fn outbox_partition(shard: u32) -> String {
    join(&["OUTBOX", &shard.to_string()])
}

/// `<ms since the epoch, 15 digits>#<tenant>#<task id>`: an outbox entry, oldest first.
#[must_use]
pub fn outbox_sort(since_ms: i64, tenant: &str, task_id: &str) -> String {
    join(&[&format!("{since_ms:015}"), tenant, task_id])
}

/// `APIKEY#<sha-256 of the key>`: the partition the authorizer looks a presented key up in.
#[must_use]
pub fn api_key_lookup_partition(hash: &str) -> String {
    join(&["APIKEY", hash])
}

/// `APIKEY`: the sort key of a key's lookup item.
pub const API_KEY_LOOKUP: &str = "APIKEY";

/// `APIKEY#<key id>`: a key's listing entry in the tenant partition.
#[must_use]
pub fn api_key_sort(key_id: &str) -> String {
    join(&["APIKEY", key_id])
}

/// `AUDIT#<tenant>`: the partition of a tenant's audit entries (sort key `<at>#<request id>`).
#[must_use]
pub fn audit_partition(tenant: &str) -> String {
    join(&["AUDIT", tenant])
}

/// `RATE#<tenant>#<subject>`: one principal's rate-limit bucket (sort key [`RATE`]).
#[must_use]
pub fn rate_partition(tenant: &str, subject: &str) -> String {
    join(&["RATE", tenant, subject])
}

/// `RATE`: the sort key of a rate-limit bucket.
pub const RATE: &str = "RATE";

/// `WSCONN#<connection id>`: one WebSocket connection (sort key [`CONNECTION_META`]).
#[must_use]
pub fn connection_partition(connection_id: &str) -> String {
    join(&["WSCONN", connection_id])
}

/// `WSSUB#<tenant>#<topic>`: the connections subscribed to a topic (sort key: the connection id).
#[must_use]
pub fn subscription_partition(tenant: &str, topic: &str) -> String {
    join(&["WSSUB", tenant, topic])
}

/// `WSTENANT#<tenant>`: a tenant's connections, to count them (sort key: the connection id).
#[must_use]
pub fn tenant_connections_partition(tenant: &str) -> String {
    join(&["WSTENANT", tenant])
}

/// `WSEVT#<tenant>#<topic>`: the events published to a topic, kept for `events/since` (sort key: the
/// event id, which sorts by time).
#[must_use]
pub fn event_partition(tenant: &str, topic: &str) -> String {
    join(&["WSEVT", tenant, topic])
}

/// The first component of an agent's sort key.
pub const AGENT: &str = "AGENT";

/// `AGENT#<agent id>`: an agent in the tenant partition.
#[must_use]
pub fn agent_sort(agent_id: &str) -> String {
    join(&[AGENT, agent_id])
}

/// The first component of a pipeline's sort key.
pub const PIPELINE: &str = "PIPELINE";

/// `PIPELINE#<pipeline id>`: a pipeline in the tenant partition.
#[must_use]
pub fn pipeline_sort(pipeline_id: &str) -> String {
    join(&[PIPELINE, pipeline_id])
}

/// The first component of an integration's sort key.
pub const INTEGRATION: &str = "INTEGRATION";

/// `INTEGRATION#<integration id>`: an integration in the tenant partition.
#[must_use]
pub fn integration_sort(integration_id: &str) -> String {
    join(&[INTEGRATION, integration_id])
}

/// `INTEGCOUNT`: the sort key of a tenant's integration count (in the tenant partition).
pub const INTEGRATION_COUNT: &str = "INTEGCOUNT";

/// `EXEC#<execution id>`: a pipeline execution in the tenant partition.
#[must_use]
pub fn execution_sort(execution_id: &str) -> String {
    join(&["EXEC", execution_id])
}

/// `EXECUTIONS#<tenant>#<pipeline id>`: the `gsi1` partition of a pipeline's executions, sorted by
/// execution id (time-ordered), so `GET …/executions` is one backwards `Query`.
#[must_use]
pub fn execution_index_partition(tenant: &str, pipeline_id: &str) -> String {
    join(&["EXECUTIONS", tenant, pipeline_id])
}

/// `INBOX#<agent id>#<task id>`: a stage task assigned to an agent and not claimed yet (in the tenant
/// partition); task ids sort by creation, so an agent's inbox reads oldest first.
#[must_use]
pub fn inbox_sort(agent_id: &str, task_id: &str) -> String {
    join(&["INBOX", agent_id, task_id])
}

/// `AGENTTASK#<agent id>`: the stage task an agent holds (assigned and not finished), so it is given
/// no other (in the tenant partition).
#[must_use]
pub fn agent_task_sort(agent_id: &str) -> String {
    join(&["AGENTTASK", agent_id])
}

/// `INBOX#<agent id>#`: the prefix of an agent's inbox entries.
#[must_use]
pub fn inbox_prefix(agent_id: &str) -> String {
    prefix(&["INBOX", agent_id])
}

/// `PIPECOUNT`: the sort key of a tenant's pipeline count (in the tenant partition).
pub const PIPELINE_COUNT: &str = "PIPECOUNT";

/// `LOG#<tenant>`: the tenant's events (`GET /api/v1/logs`), sorted by event id (time first).
#[must_use]
pub fn log_partition(tenant: &str) -> String {
    join(&["LOG", tenant])
}

/// `METRICS#<tenant>`: the tenant's metric buckets (sort key [`metrics_sort`]).
#[must_use]
pub fn metrics_partition(tenant: &str) -> String {
    join(&["METRICS", tenant])
}

/// `<M|H>#<bucket start ms:015>#<series>`: one series' bucket of a minute (`M`) or an hour (`H`).
/// Buckets of one resolution sort by time, so a window is one `Query` between two of these keys.
#[must_use]
pub fn metrics_sort(resolution: &str, start_ms: i64, series: &str) -> String {
    join(&[resolution, &format!("{start_ms:015}"), series])
}

/// `<M|H>#<ms:015>`: the sort key below every bucket of that resolution starting at or after `ms`.
#[must_use]
pub fn metrics_bound(resolution: &str, ms: i64) -> String {
    join(&[resolution, &format!("{ms:015}")])
}

/// `PENDING`: the sort key of a connection waiting for its first-message authentication (in the
/// connection's partition).
pub const CONNECTION_PENDING: &str = "PENDING";

/// `META`: the sort key of a connection's item.
pub const CONNECTION_META: &str = "META";

/// `TOOL#<name>`, `PROMPT#<name>`, `RESOURCE#<uri>`: a registered item in the tenant partition.
#[must_use]
pub fn registered_sort(kind_prefix: &str, key: &str) -> String {
    join(&[kind_prefix, key])
}

/// `REGCOUNT#<TOOL|PROMPT|RESOURCE>`: how many items of a kind the tenant has registered.
#[must_use]
pub fn registered_count_sort(kind_prefix: &str) -> String {
    join(&["REGCOUNT", kind_prefix])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separator_inside_a_component_cannot_move_the_boundary() {
        assert_ne!(join(&["a#b", "c"]), join(&["a", "b#c"]));
        assert_eq!(join(&["a#b", "c"]), "a%23b#c");
        assert_eq!(join(&["a", "b#c"]), "a#b%23c");
    }

    #[test]
    fn an_escape_inside_a_component_cannot_pass_for_a_separator() {
        // "a%23b" written literally must not meet "a#b" once escaped.
        assert_ne!(join(&["CTX", "a%23b"]), join(&["CTX", "a#b"]));
        assert_eq!(join(&["CTX", "a%23b"]), "CTX#a%2523b");
    }

    #[test]
    fn tenant_and_id_pairs_that_concatenate_alike_get_different_keys() {
        let pairs = [("a#b", "c"), ("a", "b#c"), ("a#", "b#c"), ("a", "#b#c"), ("a%", "23b")];
        let keys: std::collections::HashSet<String> = pairs.iter().map(|(t, id)| join(&["CTX", t, id])).collect();
        assert_eq!(keys.len(), pairs.len(), "{keys:?}");
    }

    #[test]
    fn plain_components_are_spelled_as_they_were_before_the_encoding() {
        assert_eq!(join(&["CTX", "acme", "ctx_0123abcd"]), "CTX#acme#ctx_0123abcd");
        assert_eq!(tenant_partition("own-1a2b"), "TENANT#own-1a2b");
        assert_eq!(prefix(&["TASK"]), "TASK#");
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn every_item_type_keeps_the_spelling_its_stored_items_have() {
        assert_eq!(context_partition("acme", "ctx_1"), "CTX#acme#ctx_1");
        assert_eq!(node_sort(7), "NODE#0000000007");
        assert_eq!(context_entry_sort("ctx_1"), "CONTEXT#ctx_1");
        assert_eq!(quota_sort("k1"), "QUOTA#k1");
        assert_eq!(task_sort("task_1"), "TASK#task_1");
        assert_eq!(
            task_index_partition("acme", "STATUS", "pending"),
            "TASKS#acme#STATUS#pending"
        );
        assert_eq!(task_stats_sort(3), "STATS#3");
        assert_eq!(outbox_partition(5), "OUTBOX#5");
        assert_eq!(outbox_sort(12, "acme", "task_1"), "000000000000012#acme#task_1");
        assert_eq!(api_key_lookup_partition("ab12"), "APIKEY#ab12");
        assert_eq!(api_key_sort("0123"), "APIKEY#0123");
        assert_eq!(audit_partition("acme"), "AUDIT#acme");
        assert_eq!(rate_partition("acme", "k1"), "RATE#acme#k1");
        assert_eq!(registered_sort("RESOURCE", "docs://a#b"), "RESOURCE#docs://a%23b");
        assert_eq!(registered_count_sort("TOOL"), "REGCOUNT#TOOL");
        assert_eq!(connection_partition("c1"), "WSCONN#c1");
        assert_eq!(subscription_partition("acme", "task:t1"), "WSSUB#acme#task:t1");
        assert_eq!(event_partition("acme", "task:t1"), "WSEVT#acme#task:t1");
        assert_eq!(tenant_connections_partition("acme"), "WSTENANT#acme");
        assert_eq!(metrics_partition("acme"), "METRICS#acme");
        assert_eq!(agent_sort("agt_1"), "AGENT#agt_1");
        assert_eq!(pipeline_sort("pln_1"), "PIPELINE#pln_1");
        assert_eq!(execution_index_partition("acme", "pln_1"), "EXECUTIONS#acme#pln_1");
        assert_eq!(metrics_sort("M", 60_000, "tasks-get"), "M#000000000060000#tasks-get");
        assert_eq!(metrics_bound("H", 0), "H#000000000000000");
    }

    #[test]
    fn a_window_of_metric_buckets_lies_between_its_bounds() {
        let (low, high) = (metrics_bound("M", 60_000), metrics_bound("M", 120_001));
        for inside in [metrics_sort("M", 60_000, "a"), metrics_sort("M", 120_000, "zz~")] {
            assert!(low <= inside && inside <= high, "{inside}");
        }
        for outside in [
            metrics_sort("M", 0, "a"),
            metrics_sort("M", 180_000, "a"),
            metrics_sort("H", 60_000, "a"),
        ] {
            assert!(outside < low || outside > high, "{outside}");
        }
    }

    #[test]
    fn every_joined_key_has_exactly_one_separator_per_boundary() {
        let key = join(&["x#y", "%#%", "", "z"]);
        assert_eq!(key.matches('#').count(), 3, "{key}");
    }
}
