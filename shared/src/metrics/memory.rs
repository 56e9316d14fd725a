//! [`MetricsStore`] in memory, for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Counts, MetricsStore, Resolution, Sample};

/// Buckets by tenant, resolution, start and series.
#[derive(Debug, Default)]
pub struct InMemoryMetrics {
    buckets: Mutex<BTreeMap<(String, i64, i64, String), Counts>>,
}

fn width(resolution: Resolution) -> i64 {
    resolution.width_ms()
}

impl MetricsStore for InMemoryMetrics {
    fn record<'a>(&'a self, sample: &'a Sample<'a>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for resolution in Resolution::ALL {
                let start = resolution.start_of(sample.at_ms);
                let key = (
                    sample.tenant.to_owned(),
                    width(resolution),
                    start,
                    sample.series.to_owned(),
                );
                buckets
                    .entry(key)
                    .or_insert_with(|| Counts::empty(sample.series, start))
                    .add(sample);
            }
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
