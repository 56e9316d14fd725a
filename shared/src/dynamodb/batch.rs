//! `BatchWriteItem` of any number of writes: 25 to a batch (DynamoDB's limit), and what a batch
//! leaves unprocessed (throttling) sent again after a short, growing pause, a few times.

use aws_sdk_dynamodb::types::WriteRequest;
use aws_sdk_dynamodb::Client;

/// Writes of one `BatchWriteItem` at most.
pub const BATCH: usize = 25;
/// Times a batch's unprocessed writes are sent again before it is an error.
const RESENDS: u32 = 4;

/// Sends `writes` to `table`, [`BATCH`] at a time.
///
/// # Errors
/// A failed call, or writes still unprocessed after the resends.
pub async fn write_all(client: &Client, table: &str, writes: Vec<WriteRequest>) -> anyhow::Result<()> {
    for batch in writes.chunks(BATCH) {
        let mut requests = batch.to_vec();
        for attempt in 0..=RESENDS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(super::sdk_error)?;
            requests = out
                .unprocessed_items()
                .and_then(|u| u.get(table))
                .cloned()
                .unwrap_or_default();
            if requests.is_empty() {
                break;
            }
        }
        if !requests.is_empty() {
            anyhow::bail!("{} write(s) left unprocessed", requests.len());
        }
    }
    Ok(())
}
