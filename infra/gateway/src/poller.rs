//! SQS event sources, as Lambda's poller runs them: gather a batch (up to `BatchSize`, for up to
//! `MaximumBatchingWindowInSeconds`), invoke the function with a real SQS event, delete what
//! succeeded, leave failures to come back after the visibility timeout (and reach the dead-letter
//! queue after `maxReceiveCount` receives, which SQS itself enforces). `MaximumConcurrency` pollers
//! run per source; on a FIFO queue SQS itself holds back a group while a message of it is in flight.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};

use crate::invoke::Invoker;

/// One function wired to one queue.
#[derive(Debug, Clone)]
pub struct SqsSource {
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub region: String,
    pub batch_size: u16,
    pub report_batch_item_failures: bool,
    /// Long-poll wait per receive.
    pub wait: Duration,
    /// Batches in flight at once (`ScalingConfig.MaximumConcurrency`).
    pub concurrency: usize,
    /// How long to keep gathering a batch that is not full (`MaximumBatchingWindowInSeconds`).
    pub batching_window: Duration,
}

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    pub received: usize,
    pub deleted: usize,
    pub failed: usize,
}

/// Runs the source's pollers (`concurrency` of them) until the task is dropped.
pub async fn run<I: Invoker>(sqs: aws_sdk_sqs::Client, invoker: Arc<I>, source: SqsSource) {
    let pollers = (0..source.concurrency.max(1)).map(|_| {
        let (sqs, invoker, source) = (sqs.clone(), Arc::clone(&invoker), source.clone());
        tokio::spawn(async move { poll_forever(&sqs, invoker.as_ref(), &source).await })
    });
    futures::future::join_all(pollers).await;
}

/// One poller: errors are logged and retried after a pause.
async fn poll_forever<I: Invoker>(sqs: &aws_sdk_sqs::Client, invoker: &I, source: &SqsSource) {
    loop {
        match poll_once(sqs, invoker, source).await {
            Ok(outcome) if outcome.received > 0 => {
                tracing::info!(function = %source.function, queue = %source.queue_arn, ?outcome, "sqs batch handled");
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(function = %source.function, error = %err, "sqs poll failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Receives one batch (if any), invokes the function once, and deletes the messages that succeeded.
///
/// # Errors
/// When SQS cannot be reached; a failing function is not an error here, its messages just stay.
pub async fn poll_once<I: Invoker>(
    sqs: &aws_sdk_sqs::Client,
    invoker: &I,
    source: &SqsSource,
) -> anyhow::Result<PollOutcome> {
    let messages = receive(sqs, source).await?;
    if messages.is_empty() {
        return Ok(PollOutcome::default());
    }
    tracing::info!(function = %source.function, batch = ?batch_view(&messages), "sqs batch received");
    let failed = invoke_batch(invoker, source, &messages).await?;
    let done: Vec<_> = messages
        .iter()
        .filter(|m| !failed.contains(m.message_id().unwrap_or_default()))
        .collect();
    if !done.is_empty() {
        delete_batch(sqs, source, &done).await?;
    }
    Ok(PollOutcome {
        received: messages.len(),
        deleted: done.len(),
        failed: messages.len() - done.len(),
    })
}

/// `(message id, group, receive count)` of each message, for the debug log.
fn batch_view(messages: &[Message]) -> Vec<(String, String, String)> {
    let attr = |m: &Message, a: MessageSystemAttributeName| {
        m.attributes().and_then(|x| x.get(&a)).cloned().unwrap_or_default()
    };
    messages
        .iter()
        .map(|m| {
            (
                m.message_id().unwrap_or_default().to_owned(),
                attr(m, MessageSystemAttributeName::MessageGroupId),
                attr(m, MessageSystemAttributeName::ApproximateReceiveCount),
            )
        })
        .collect()
}

/// One lock per queue URL, held around each `ReceiveMessage`: SQS hands out a FIFO group to one
/// receive at a time, but moto answers concurrent receives on separate threads that can each see a
/// group as free and hand out its messages twice over, which would break a context's order.
fn receive_lock(queue_url: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    let mut locks = locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(locks.entry(queue_url.to_owned()).or_default())
}

/// A batch: receives until it holds `batch_size` messages, or the batching window has passed (at
/// once when there is none) with at least one message. Once a batch has begun, no receive waits
/// past the window's end (a long poll of whole seconds while more than one is left, then short polls),
/// as Lambda's poller invokes when the window closes.
async fn receive(sqs: &aws_sdk_sqs::Client, source: &SqsSource) -> anyhow::Result<Vec<Message>> {
    const SHORT_POLL_PAUSE: Duration = Duration::from_millis(50);
    let lock = receive_lock(&source.queue_url);
    let _one_at_a_time = lock.lock().await;
    let until = tokio::time::Instant::now() + source.batching_window;
    let mut batch = Vec::new();
    loop {
        let room = usize::from(source.batch_size).saturating_sub(batch.len()).min(10);
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let wait = if batch.is_empty() {
            source.wait
        } else {
            source.wait.min(left)
        };
        let received = receive_once(sqs, source, room, wait).await?;
        let none = received.is_empty();
        batch.extend(received);
        let full = batch.len() >= usize::from(source.batch_size);
        if full || batch.is_empty() || tokio::time::Instant::now() >= until {
            return Ok(batch);
        }
        if none && wait.as_secs() == 0 {
            tokio::time::sleep(SHORT_POLL_PAUSE.min(left)).await;
        }
    }
}

/// One receive (a long poll of `wait`'s whole seconds), with every system and message attribute.
async fn receive_once(
    sqs: &aws_sdk_sqs::Client,
    source: &SqsSource,
    room: usize,
    wait: Duration,
) -> anyhow::Result<Vec<Message>> {
    let received = sqs
        .receive_message()
        .queue_url(&source.queue_url)
        .max_number_of_messages(i32::try_from(room.max(1)).unwrap_or(10))
        .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(1))
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
    Ok(received.messages.unwrap_or_default())
}

/// Invokes the function with the batch as an SQS event; returns the ids of the messages that failed.
async fn invoke_batch<I: Invoker>(
    invoker: &I,
    source: &SqsSource,
    messages: &[Message],
) -> anyhow::Result<HashSet<String>> {
    let mut event = SqsEvent::default();
    event.records = messages.iter().map(|m| record(m, source)).collect();
    let payload = serde_json::to_vec(&event)?;
    Ok(match invoker.invoke(&source.function, payload).await {
        Ok(answer) => failed_ids(&answer, messages, source.report_batch_item_failures),
        Err(err) => {
            tracing::warn!(function = %source.function, error = %err, "function failed; the batch will be retried");
            messages.iter().filter_map(|m| m.message_id.clone()).collect()
        }
    })
}

async fn delete_batch(sqs: &aws_sdk_sqs::Client, source: &SqsSource, done: &[&Message]) -> anyhow::Result<()> {
    let entries = done
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    sqs.delete_message_batch()
        .queue_url(&source.queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}

/// The ids that failed. As Lambda does: an unreadable answer, or an item id that is empty or not in
/// the batch, fails the whole batch.
fn failed_ids(answer: &[u8], messages: &[Message], report_failures: bool) -> HashSet<String> {
    let all = || {
        messages
            .iter()
            .filter_map(|m| m.message_id.clone())
            .collect::<HashSet<_>>()
    };
    if !report_failures || answer.is_empty() || answer == b"null" {
        return HashSet::new();
    }
    let Ok(response) = serde_json::from_slice::<SqsBatchResponse>(answer) else {
        return if serde_json::from_slice::<serde_json::Value>(answer).is_ok() {
            HashSet::new()
        } else {
            all()
        };
    };
    let ids: HashSet<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    let known = all();
    if ids.iter().any(|id| !known.contains(id)) {
        return known;
    }
    ids
}

fn record(message: &Message, source: &SqsSource) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id.clone_from(&message.message_id);
    record.receipt_handle.clone_from(&message.receipt_handle);
    record.body.clone_from(&message.body);
    record.md5_of_body.clone_from(&message.md5_of_body);
    record
        .md5_of_message_attributes
        .clone_from(&message.md5_of_message_attributes);
    record.attributes = message
        .attributes()
        .map(|attrs| attrs.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect())
        .unwrap_or_default();
    record.message_attributes = message
        .message_attributes()
        .map(|attrs| {
            attrs
                .iter()
                .map(|(name, v)| {
                    let mut attr = aws_lambda_events::sqs::SqsMessageAttribute::default();
                    attr.string_value = v.string_value().map(str::to_owned);
                    attr.binary_value = v.binary_value().map(|b| {
                        let mut data = aws_lambda_events::encodings::Base64Data::default();
                        *data = b.as_ref().to_vec();
                        data
                    });
                    attr.data_type = Some(v.data_type().to_owned());
                    (name.clone(), attr)
                })
                .collect()
        })
        .unwrap_or_default();
    record.event_source = Some("aws:sqs".to_owned());
    record.event_source_arn = Some(source.queue_arn.clone());
    record.aws_region = Some(source.region.clone());
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(ids: &[&str]) -> Vec<Message> {
        ids.iter()
            .map(|id| Message::builder().message_id(*id).build())
            .collect()
    }

    #[test]
    fn reported_failures_are_the_only_ones_kept() {
        let answer = br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#;
        assert_eq!(
            failed_ids(answer, &messages(&["a", "b"]), true),
            HashSet::from(["b".to_owned()])
        );
    }

    #[test]
    fn an_unknown_item_identifier_fails_the_whole_batch() {
        let answer = br#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#;
        assert_eq!(failed_ids(answer, &messages(&["a", "b"]), true).len(), 2);
    }

    #[test]
    fn without_report_batch_item_failures_a_success_deletes_everything() {
        let answer = br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#;
        assert!(failed_ids(answer, &messages(&["a", "b"]), false).is_empty());
        assert!(failed_ids(b"null", &messages(&["a"]), true).is_empty());
    }
}
