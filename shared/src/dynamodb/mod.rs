//! The one DynamoDB table every capability shares, and what their stores share: the key of every
//! item type ([`table_keys`]), attribute codecs ([`Item`], [`s`], [`n`], [`number`]), transactions
//! that retry contention ([`transactions`]), newest-first paging ([`pages`]) and SDK error helpers.
//! Each capability's store is its own `dynamodb` module and states only its access patterns.
//!
//! # Access patterns
//!
//! The table has `pk`/`sk` and five indexes (`gsi1`–`gsi4`: tasks, and `gsi1` also executions by
//! pipeline; `gsi5`: the outbox of queued tasks not yet started; keys `gsiNpk`/`gsiNsk`). Every key
//! is built by a function of [`table_keys`], whose components are escaped so that no tenant, id or
//! name can reach into another key. Items with `expires_at` are removed by DynamoDB's TTL, and reads
//! skip them before it does.
//!
//! | item | `pk` | `sk` | index | operations (store) |
//! |---|---|---|---|---|
//! | context metadata | `CTX#<tenant>#<context>` | `META` | | create, read, prompt, add/delete node, delete, worker claim and finish (`contexts::dynamodb`) |
//! | context node | `CTX#<tenant>#<context>` | `NODE#<seq:010>` | | create, read (one `Query` with the metadata), add/delete node, worker reply |
//! | context listing entry | `TENANT#<tenant>` | `CONTEXT#<context>` | | create, delete, `GET /contexts` (`Query`, newest first) |
//! | context quota | `TENANT#<tenant>` | `QUOTA#<subject>` (older: `OWNER#<owner>`) | | create and delete, in their transaction |
//! | task | `TENANT#<tenant>` | `TASK#<task>` | `gsi1`: `TASKS#<tenant>#STATUS#<status>`; `gsi2`: `…#CONTEXT#<context>`; `gsi3`: `…#USER#<user>`; `gsi4`: `…#TYPE#<type>`; index sort key `<task>`; while queued and not started, `gsi5`: `OUTBOX#<0–7>`, sort key `<ms:015>#<tenant>#<task>` | create (its outbox entry on it, with its counters, one transaction), get, claim, finish, cancel, `GET /tasks` (`tasks::dynamodb`) |
//! | task counters | `TENANT#<tenant>` | `STATS#<0–7>` | | every task create and status change, in its transaction; `tasks_status` reads all eight |
//! | outbox entry | (the task item's `gsi5` keys and `outbox` map) | | `gsi5` | queued task create (the task's own put), start and cancel (removed), `task-outbox` sweep (`Query` of `gsi5`, oldest first; removed once sent) |
//! | API key lookup | `APIKEY#<sha-256>` | `APIKEY` | | the authorizer's `GetItem`; create (an agent's token: with its agent), revoke (`keys::dynamodb`) |
//! | API key listing entry | `TENANT#<tenant>` | `APIKEY#<key id>` | | create, revoke, `GET /keys` |
//! | audit entry | `AUDIT#<tenant>` | `<at>#<request id>` | | every audited request, `GET /audit` (`audit::dynamodb`) |
//! | rate-limit bucket | `RATE#<tenant>#<subject>` | `RATE` | | the authorizer's conditional `UpdateItem` (`ratelimit::dynamodb`) |
//! | registered item | `TENANT#<tenant>` | `TOOL#<name>`, `PROMPT#<name>`, `RESOURCE#<uri>` | | register and delete (with the counter, one transaction), get, list (`registered::dynamodb`) |
//! | WebSocket connection | `WSCONN#<connection id>` | `META` | | `$connect` puts it, each message counts itself on it, `$disconnect` deletes it; TTL 2 h 10 min (`connections::dynamodb`) |
//! | WebSocket connection waiting to authenticate | `WSCONN#<connection id>` | `PENDING` | | `$connect` without credentials puts it (`deadline_ms`); the first message's `auth` or the timeout deletes it; TTL 1 min (`connections::dynamodb`) |
//! | a tenant's WebSocket connection | `WSTENANT#<tenant>` | `<connection id>` | | `$connect` puts it, `$disconnect` deletes it; `system/diagnostics` counts them, revoking a key finds its own (`Query`); TTL of its connection (`connections::dynamodb`) |
//! | WebSocket subscription | `WSSUB#<tenant>#<topic>` | `<connection id>` | | `subscribe` puts it; a publisher (the worker) `Query`s a topic's subscribers and deletes those gone; TTL of its connection (`connections::dynamodb`) |
//! | kept WebSocket event | `WSEVT#<tenant>#<topic>` | `<event id>` (time-ordered) | | a publisher puts it (one per topic, `BatchWriteItem`) before pushing; `events/since` `Query`s `sk > :after`; TTL 1 h (`connections::dynamodb`) |
//! | agent | `TENANT#<tenant>` | `AGENT#<agent id>` | | register (`Put` in one transaction with its token's two API-key items, after a `Query` of the tenant's keys), heartbeat (`UpdateItem`), get, list (`Query`), delete (`agents::dynamodb`) |
//! | pipeline | `TENANT#<tenant>` | `PIPELINE#<pipeline id>` | | create (`Put` with the count's `ADD`, one transaction), get, list (`Query`) (`pipelines::dynamodb`) |
//! | pipeline execution | `TENANT#<tenant>` | `EXEC#<execution id>` | `gsi1`: `EXECUTIONS#<tenant>#<pipeline>`, index sort key `<execution>` | execute (`PutItem`), every stage event of stage-dispatcher and every agent report (`PutItem` on the `version` read), get, `GET …/executions` (backwards `Query` on `gsi1`) (`pipelines::executions::dynamodb`) |
//! | agent inbox entry | `TENANT#<tenant>` | `INBOX#<agent id>#<task id>` | | stage-dispatcher puts it with the stage task (one transaction); `tasks/next` `Query`s the agent's oldest and deletes it as it claims the task (`tasks::dynamodb::stages`) |
//! | agent's held task | `TENANT#<tenant>` | `AGENTTASK#<agent id>` | | stage-dispatcher puts it (`attribute_not_exists`) before assigning, so concurrent dispatches cannot give one agent two tasks; the task's end deletes it; one whose task has ended is taken back; TTL 7 days (`tasks::dynamodb::stages`) |
//! | pipeline count | `TENANT#<tenant>` | `PIPECOUNT` | | every pipeline create, in its transaction (at most 100) |
//! | integration | `TENANT#<tenant>` | `INTEGRATION#<integration id>` | | create (`Put` with the count's `ADD`, one transaction), get, list (`Query`, newest first), replace (`UpdateItem` on its `version`), delete (`Delete` with the count's `ADD -1`, one transaction) (`integrations::dynamodb`) |
//! | integration count | `TENANT#<tenant>` | `INTEGCOUNT` | | every integration create and delete, in its transaction (at most 100) |
//! | log event | `LOG#<tenant>` | `<at ms:015>-<request or task id>` | | every function's recorder puts them with its metrics (`BatchWriteItem`, 25 at a time); `GET /logs` `Query`s backwards between two times, filtered by level and kind; TTL 7 days (`logs::dynamodb`) |
//! | metric bucket | `METRICS#<tenant>` | `<M\|H>#<start ms:015>#<series>` | | every measured invocation adds to its minute and hour bucket (`UpdateItem ADD`; a burst's samples added up first: `metrics::Recorder`); `system/performance` `Query`s a window; TTL 2 h (minute) or 8 days (hour) (`metrics::dynamodb`) |
//! | registry counter | `TENANT#<tenant>` | `REGCOUNT#<TOOL\|PROMPT\|RESOURCE>` | | every register and delete (`item_count`), and replace (`version`, which MCP's cached lists check: `registered::cache`) |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub mod batch;
pub mod pages;
pub mod table_keys;
pub mod transactions;

/// An item, or a key, as the SDK takes and gives it.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
#[must_use]
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A number attribute.
#[must_use]
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The number attribute `name` of `item`, if it has one.
#[must_use]
pub fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// The table key `pk`/`sk`.
#[must_use]
pub fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Whether a write was refused because its condition did not hold (`ConditionalCheckFailedException`,
/// whatever the operation).
pub(crate) fn condition_failed<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .is_some_and(|e| e.code() == Some("ConditionalCheckFailedException"))
}

/// An AWS SDK error as an `anyhow` error carrying its whole cause chain (for logs; never shown to a
/// client). One that says the service could not be reached or could not answer now is an
/// [`Unavailable`](crate::error::Unavailable), which the error envelope answers `503`.
pub(crate) fn sdk_error<E: std::error::Error + Reachability + Send + Sync + 'static>(err: E) -> anyhow::Error {
    let unreachable = err.unreachable();
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
    if unreachable {
        anyhow::Error::new(crate::error::Unavailable { detail })
    } else {
        anyhow::anyhow!(detail)
    }
}

/// Whether an error says its service could not be reached or could not answer now (a retry later
/// may succeed), rather than that the request was wrong.
pub(crate) trait Reachability {
    fn unreachable(&self) -> bool {
        false
    }
}

/// Service error codes that mean "not now": throttled, or failing inside.
const NOT_NOW: [&str; 8] = [
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

impl<E: aws_sdk_dynamodb::error::ProvideErrorMetadata> Reachability
    for aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>
{
    fn unreachable(&self) -> bool {
        use aws_sdk_dynamodb::error::SdkError;
        match self {
            // No connection, no answer in time, or an answer that could not be read.
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(ctx) => {
                ctx.raw().status().is_server_error() || ctx.err().code().is_some_and(|c| NOT_NOW.contains(&c))
            }
            _ => false,
        }
    }
}

impl Reachability for aws_sdk_dynamodb::error::BuildError {}

/// An AWS SDK error as the conversation stores' unknown error.
pub(crate) fn store_error<E: std::error::Error + Reachability + Send + Sync + 'static>(
    err: E,
) -> crate::conversation::store::StoreError {
    crate::conversation::store::StoreError::Unknown(sdk_error(err))
}

/// A DynamoDB client of the table served at `base` (a replay server), without retries.
#[cfg(test)]
pub(crate) fn replay_client(base: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .endpoint_url(base)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}
