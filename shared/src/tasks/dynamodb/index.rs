//! The task items' keys and indexes. Every task filter of `GET /api/v1/mcp/tasks` (and of the MCP
//! tools and prompts that list tasks) is a `Query` on a key of its own, never a read of the tenant's
//! tasks filtered in code:
//!
//! | reads | table or index | partition key | sort key |
//! | --- | --- | --- | --- |
//! | one task | table | `pk` = `TENANT#<tenant>` | `sk` = `TASK#<task id>` |
//! | all tasks | table | `pk` = `TENANT#<tenant>` | `sk` beginning `TASK#` |
//! | `status=` | `gsi1` | `gsi1pk` = `TASKS#<tenant>#STATUS#<status>` | `gsi1sk` = `<task id>` |
//! | `context_id=` | `gsi2` | `gsi2pk` = `TASKS#<tenant>#CONTEXT#<context id>` | `gsi2sk` = `<task id>` |
//! | `user_id=` | `gsi3` | `gsi3pk` = `TASKS#<tenant>#USER#<user id>` | `gsi3sk` = `<task id>` |
//! | `type=` | `gsi4` | `gsi4pk` = `TASKS#<tenant>#TYPE#<type>` | `gsi4sk` = `<task id>` |
//!
//! Keys are joined by [`table_keys::join`], so a `#` in a tenant, context id or user id cannot reach
//! another partition. A task id is `task_` + its creation milliseconds (12 hex digits) + 16 random hex
//! digits, so the sort key is "created time, then id": read backwards, every index is newest first,
//! and the cursor (the id of a page's last task) means the same whichever index answers. The indexes
//! project every attribute, so a page is one `Query` with no reads after it.
//!
//! - **Combinations** are read from the index of the first filter given in the order context, user,
//!   status, type (the most selective first); the others are a filter expression on their own index
//!   attributes. A single filter needs no filter expression beyond expiry.
//! - **Status** changes rewrite `gsi1pk` in the same conditional write that changes `status`: the
//!   `UpdateItem`s of start and cancel, and the finishing `Put` of the whole item.
//! - **Expiry**: every task carries `expires_at` (the table's TTL attribute, creation + the task
//!   retention); DynamoDB deletes expired items late, so every read also filters
//!   `attribute_not_exists(expires_at) OR expires_at > :now`.
//! - **Sparse**: a task without a context (`ai.completion`) or without a `user_id` is absent from
//!   `gsi2`/`gsi3`. Tasks written before these indexes have none of their attributes (nor
//!   `expires_at`): they show only in unfiltered listings, unless they finish later (the finishing
//!   `Put` writes every key; a start or cancel adds only the status key).
//! - **Throughput**: a tenant's tasks of one status or one type share an index partition, which takes
//!   about 1,000 writes a second.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamodb::table_keys;
use crate::tasks::listing::TaskFilter;
use crate::tasks::model::{Task, TaskStatus};

/// A global secondary index of the table: its name and key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

pub(crate) const STATUS: Index = Index {
    name: "gsi1",
    pk: "gsi1pk",
    sk: "gsi1sk",
};
pub(crate) const CONTEXT: Index = Index {
    name: "gsi2",
    pk: "gsi2pk",
    sk: "gsi2sk",
};
pub(crate) const USER: Index = Index {
    name: "gsi3",
    pk: "gsi3pk",
    sk: "gsi3sk",
};
pub(crate) const TYPE: Index = Index {
    name: "gsi4",
    pk: "gsi4pk",
    sk: "gsi4sk",
};

fn partition(tenant: &str, what: &str, value: &str) -> String {
    table_keys::task_index_partition(tenant, what, value)
}

/// The status index's partition of the tenant's tasks in `status`.
pub(crate) fn status_partition(tenant: &str, status: TaskStatus) -> String {
    partition(tenant, "STATUS", status.as_str())
}

/// Each index a task belongs to, with its partition there.
pub(crate) fn memberships(task: &Task) -> Vec<(Index, String)> {
    let t = &task.tenant;
    let mut keys = vec![
        (STATUS, status_partition(t, task.status)),
        (TYPE, partition(t, "TYPE", task.task_type.as_str())),
    ];
    if let Some(context) = &task.context_id {
        keys.push((CONTEXT, partition(t, "CONTEXT", context)));
    }
    if let Some(user) = &task.user_id {
        keys.push((USER, partition(t, "USER", user)));
    }
    keys
}

/// Writes the task's index attributes onto its item.
pub(crate) fn add_index_keys(item: &mut HashMap<String, AttributeValue>, task: &Task) {
    for (index, key) in memberships(task) {
        item.insert(index.pk.into(), AttributeValue::S(key));
        item.insert(index.sk.into(), AttributeValue::S(task.task_id.clone()));
    }
}

/// The index partitions `filter` asks for, in the order an index is picked: the first is the key of
/// the `Query`, the rest are checked by a filter expression. Empty: read the tenant partition.
pub(crate) fn wanted(tenant: &str, filter: &TaskFilter) -> Vec<(Index, String)> {
    let mut wanted = Vec::new();
    if let Some(context) = &filter.context_id {
        wanted.push((CONTEXT, partition(tenant, "CONTEXT", context)));
    }
    if let Some(user) = &filter.user_id {
        wanted.push((USER, partition(tenant, "USER", user)));
    }
    if let Some(status) = filter.status {
        wanted.push((STATUS, status_partition(tenant, status)));
    }
    if let Some(kind) = filter.task_type {
        wanted.push((TYPE, partition(tenant, "TYPE", kind.as_str())));
    }
    wanted
}
