//! [`MetricsStore`] in memory, for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Counts, MetricsStore, Resolution};

/// Buckets by tenant, resolution, start and series.
#[derive(Debug, Default)]
pub struct InMemoryMetrics {
    buckets: Mutex<BTreeMap<(String, i64, i64, String), Counts>>,
}

fn width(resolution: Resolution) -> i64 {
    resolution.width_ms()
}

impl MetricsStore for InMemoryMetrics {
    fn add<'a>(
        &'a self,
        tenant: &'a str,
        resolution: Resolution,
        counts: &'a Counts,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let key = (
                tenant.to_owned(),
                width(resolution),
                counts.start_ms,
                counts.series.clone(),
            );
            buckets
                .entry(key)
                .or_insert_with(|| Counts::empty(&counts.series, counts.start_ms))
                .merge(counts);
            Ok(())
        })
    }

    fn read<'a>(
        &'a self,
        tenant: &'a str,
        resolution: Resolution,
        from_ms: i64,
        to_ms: i64,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Counts>>> {
        Box::pin(async move {
            let buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(buckets
                .iter()
                .filter(|((t, w, start, _), _)| {
                    t == tenant && *w == width(resolution) && (from_ms..=to_ms).contains(start)
                })
                .map(|(_, counts)| counts.clone())
                .collect())
        })
    }
}
