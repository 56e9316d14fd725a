//! Relaying a streamed completion: the provider's pieces, as they arrive, to a [`ChunkSink`], and
//! the stream's figures ([`StreamStats`]) for the task.

use std::future::Future;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::providers::Piece;
use crate::tasks::model::{StreamStats, Task};

/// The most text one chunk gathers from pieces that arrived while the sink was busy.
pub const MAX_CHUNK_BYTES: usize = 8 * 1024;

/// A chunk of a streamed reply: the attempt of the model's chain it belongs to (a later attempt
/// starts the text again), its number within that attempt (from 1), and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub attempt: u32,
    pub seq: u64,
    pub text: String,
}

/// Port: where a streamed task's chunks go, one at a time and in order.
pub trait ChunkSink: Send {
    fn chunk(&mut self, task: &Task, chunk: &Chunk) -> impl Future<Output = ()> + Send;
}

/// Nowhere: the reply is only stored.
impl ChunkSink for () {
    async fn chunk(&mut self, _: &Task, _: &Chunk) {}
}

impl<K: ChunkSink> ChunkSink for Option<K> {
    async fn chunk(&mut self, task: &Task, chunk: &Chunk) {
        if let Some(sink) = self {
            sink.chunk(task, chunk).await;
        }
    }
}

/// The figures of the pieces seen so far.
struct Tally {
    started: Instant,
    chunks: u64,
    attempts: u32,
    first: Option<Instant>,
    last: Option<(u32, Instant)>,
    gaps_ms: Vec<u64>,
}

impl Tally {
    fn saw(&mut self, piece: &Piece) {
        self.chunks += 1;
        self.first.get_or_insert(piece.at);
        self.attempts = self.attempts.max(piece.attempt);
        if let Some((attempt, at)) = self.last {
            if attempt == piece.attempt {
                self.gaps_ms.push(millis(piece.at.saturating_duration_since(at)));
            }
        }
        self.last = Some((piece.attempt, piece.at));
    }

    fn stats(mut self) -> StreamStats {
        self.gaps_ms.sort_unstable();
        let at = |share: f64| percentile(&self.gaps_ms, share);
        StreamStats {
            chunks: self.chunks,
            attempts: self.attempts,
            first_chunk_ms: self.first.map(|f| millis(f.saturating_duration_since(self.started))),
            gap_p50_ms: at(0.5),
            gap_p95_ms: at(0.95),
            gap_max_ms: self.gaps_ms.last().copied(),
            total_ms: millis(self.started.elapsed()),
        }
    }
}

/// The value at or below which `share` (0 to 1) of the sorted `values` lie (nearest rank).
#[must_use]
pub fn percentile(sorted: &[u64], share: f64) -> Option<u64> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = (sorted.len() as f64 * share).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Hands the pieces to `sink` until the sender is dropped: each chunk is the pieces of one attempt
/// that arrived while the previous chunk was being handed over (at most [`MAX_CHUNK_BYTES`], unless
/// one piece is longer). Returns the figures of every piece, timed from `started`.
pub async fn relay<K: ChunkSink>(
    task: &Task,
    mut pieces: UnboundedReceiver<Piece>,
    sink: &mut K,
    started: Instant,
) -> StreamStats {
    let mut tally = Tally {
        started,
        chunks: 0,
        attempts: 0,
        first: None,
        last: None,
        gaps_ms: Vec::new(),
    };
    let mut next: Option<Piece> = None;
    let mut current = Chunk {
        attempt: 0,
        seq: 0,
        text: String::new(),
    };
    loop {
        let piece = match next.take() {
            Some(p) => p,
            None => match pieces.recv().await {
                Some(p) => {
                    tally.saw(&p);
                    p
                }
                None => break,
            },
        };
        if piece.attempt == current.attempt {
            current.seq += 1;
        } else {
            (current.attempt, current.seq) = (piece.attempt, 1);
        }
        current.text = piece.text;
        while current.text.len() < MAX_CHUNK_BYTES {
            match pieces.try_recv() {
                Ok(more) => {
                    tally.saw(&more);
                    if more.attempt == current.attempt {
                        current.text.push_str(&more.text);
                    } else {
                        next = Some(more);
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        sink.chunk(task, &current).await;
    }
    tally.stats()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Keeps what it is handed; each hand-over takes 20 ms, as a push does.
    #[derive(Default)]
    struct Slow(Vec<Chunk>);

    impl ChunkSink for Slow {
        async fn chunk(&mut self, _: &Task, chunk: &Chunk) {
            self.0.push(chunk.clone());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn piece(attempt: u32, text: &str, at: Instant) -> Piece {
        Piece {
            attempt,
            text: text.into(),
            at,
        }
    }

    #[tokio::test]
    async fn pieces_that_arrive_while_the_sink_is_busy_are_one_chunk_and_a_retry_numbers_from_1_again() {
        let task = Task::example("t");
        let (to, from) = tokio::sync::mpsc::unbounded_channel();
        let t0 = Instant::now();
        let feed = async move {
            to.send(piece(1, "a ", t0 + Duration::from_millis(5))).unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
            // Three pieces while the first chunk is handed over: one chunk
            for (i, text) in ["b ", "c ", "d "].into_iter().enumerate() {
                to.send(piece(1, text, t0 + Duration::from_millis(10 + 2 * i as u64)))
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
            // The chain's second attempt starts the text again
            to.send(piece(2, "x", t0 + Duration::from_millis(80))).unwrap();
            to.send(piece(2, "y", t0 + Duration::from_millis(90))).unwrap();
        };
        let mut sink = Slow::default();
        let ((), stats) = tokio::join!(feed, relay(&task, from, &mut sink, t0));
        let seen: Vec<(u32, u64, &str)> = sink.0.iter().map(|c| (c.attempt, c.seq, c.text.as_str())).collect();
        assert_eq!(seen, [(1, 1, "a "), (1, 2, "b c d "), (2, 1, "xy")]);
        assert_eq!((stats.chunks, stats.attempts, stats.first_chunk_ms), (6, 2, Some(5)));
        // Gaps within an attempt only: 5, 2, 2 (attempt 1) and 10 (attempt 2)
        assert_eq!(
            (stats.gap_p50_ms, stats.gap_p95_ms, stats.gap_max_ms),
            (Some(2), Some(10), Some(10))
        );
    }
}
