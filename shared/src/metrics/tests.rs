use super::memory::InMemoryMetrics;
use super::*;

fn sample(series: &str, at_ms: i64, latency_ms: u64, outcome: Outcome) -> Sample<'_> {
    Sample {
        tenant: "acme",
        series,
        at_ms,
        latency_ms,
        outcome,
    }
}

#[test]
fn a_latency_counts_in_the_first_bucket_whose_bound_holds_it() {
    assert_eq!(bucket_of(0), 0);
    assert_eq!(bucket_of(1), 0);
    assert_eq!(bucket_of(2), 1);
    assert_eq!(bucket_of(101), 12);
    assert_eq!(BOUNDS_MS[12], 150);
    assert_eq!(bucket_of(86_400_000), BOUNDS_MS.len() - 1);
    assert_eq!(bucket_of(86_400_001), BOUNDS_MS.len());
}

#[test]
fn quantiles_are_the_upper_bound_of_the_bucket_the_rank_falls_in() {
    let mut counts = Counts::empty("f", 0);
    for ms in [4, 4, 4, 4, 4, 4, 4, 4, 4, 180] {
        counts.add(&sample("f", 0, ms, Outcome::Succeeded));
    }
    assert_eq!(counts.quantile_ms(0.5), Some(5));
    assert_eq!(counts.quantile_ms(0.9), Some(5));
    assert_eq!(counts.quantile_ms(0.95), Some(200));
    assert_eq!(Counts::empty("f", 0).quantile_ms(0.5), None);
    // Past the last bound reads as the last bound, never as an overflowed number.
    let mut slow = Counts::empty("f", 0);
    slow.add(&sample("f", 0, 100_000_000, Outcome::Succeeded));
    assert_eq!(slow.quantile_ms(0.5), Some(86_400_000));
}

#[test]
fn outcomes_of_statuses() {
    assert_eq!(Outcome::of_status(200), Outcome::Succeeded);
    assert_eq!(Outcome::of_status(404), Outcome::Refused);
    assert_eq!(Outcome::of_status(502), Outcome::Failed);
}

#[test]
fn buckets_start_on_their_minute_and_hour() {
    assert_eq!(Resolution::Minute.start_of(125_000), 120_000);
    assert_eq!(Resolution::Hour.start_of(3_725_000), 3_600_000);
    assert_eq!(Resolution::for_window(60), Resolution::Minute);
    assert_eq!(Resolution::for_window(61), Resolution::Hour);
}

#[tokio::test]
async fn a_window_sums_each_series_over_its_buckets_and_no_other_tenants() {
    let store = InMemoryMetrics::default();
    for (at, ms, outcome) in [
        (1_000, 10, Outcome::Succeeded),
        (61_000, 30, Outcome::Refused),
        (62_000, 1_200, Outcome::Failed),
    ] {
        store.record(&sample("tasks-get", at, ms, outcome)).await.unwrap();
    }
    store
        .record(&sample("task:completed", 5_000, 40, Outcome::Succeeded))
        .await
        .unwrap();
    let other = Sample {
        tenant: "globex",
        ..sample("tasks-get", 1_000, 10, Outcome::Succeeded)
    };
    store.record(&other).await.unwrap();

    let minutes = store.read("acme", Resolution::Minute, 0, 60_000).await.unwrap();
    let summary = summarize(&minutes);
    assert_eq!(summary.len(), 2);
    let gets = summary.iter().find(|s| s.series == "tasks-get").unwrap();
    assert_eq!((gets.invocations, gets.client_errors, gets.errors), (3, 1, 1));
    assert_eq!((gets.p50_ms, gets.p95_ms), (Some(30), Some(1_500)));
    assert!((gets.mean_ms - 1_240.0 / 3.0).abs() < 1e-9);

    let only_first_minute = store.read("acme", Resolution::Minute, 0, 0).await.unwrap();
    assert_eq!(summarize(&only_first_minute)[1].invocations, 1);
    let hours = store.read("acme", Resolution::Hour, 0, 0).await.unwrap();
    assert_eq!(summarize(&hours), summary);
}

async fn invocations(store: &InMemoryMetrics, resolution: Resolution) -> u64 {
    let buckets = store.read("acme", resolution, 0, i64::MAX).await.unwrap();
    summarize(&buckets).iter().map(|s| s.invocations).sum()
}

#[tokio::test]
async fn without_a_flush_interval_each_sample_is_written_at_once() {
    let store = std::sync::Arc::new(InMemoryMetrics::default());
    let recorder = Recorder::named(store.clone(), "tasks-get");
    recorder.sample("acme", "tasks-get", 12, Outcome::Succeeded).await;
    assert_eq!(invocations(&store, Resolution::Minute).await, 1);
    assert_eq!(invocations(&store, Resolution::Hour).await, 1);
}

#[tokio::test(start_paused = true)]
async fn the_first_sample_of_a_burst_is_written_and_the_rest_added_up_once_the_oldest_is_due() {
    let store = std::sync::Arc::new(InMemoryMetrics::default());
    let recorder = Recorder::for_this_function(store.clone(), std::time::Duration::from_secs(5));
    // The first sample after a quiet spell is written at once: a lone request is never kept.
    recorder.sample("acme", "tasks-get", 3, Outcome::Succeeded).await;
    assert_eq!(invocations(&store, Resolution::Minute).await, 1);
    for (ms, outcome) in [
        (40, Outcome::Succeeded),
        (2_000, Outcome::Succeeded),
        (9, Outcome::Failed),
    ] {
        recorder.sample("acme", "tasks-get", ms, outcome).await;
    }
    assert_eq!(
        invocations(&store, Resolution::Minute).await,
        1,
        "the rest of the burst is kept"
    );

    // No invocation comes: the instance's timer writes them, added up.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let minutes = store.read("acme", Resolution::Minute, 0, i64::MAX).await.unwrap();
    let summary = summarize(&minutes);
    assert_eq!(summary.len(), 1);
    assert_eq!((summary[0].invocations, summary[0].errors), (4, 1));
    assert_eq!(summary[0].p95_ms, Some(2_000));
    assert_eq!(invocations(&store, Resolution::Hour).await, 4);

    // Written once: a later flush adds nothing.
    recorder.flush().await;
    assert_eq!(invocations(&store, Resolution::Minute).await, 4);
}

#[tokio::test(start_paused = true)]
async fn an_invocation_that_finds_the_kept_samples_due_writes_them() {
    let store = std::sync::Arc::new(InMemoryMetrics::default());
    let recorder = Recorder::for_this_function(store.clone(), std::time::Duration::from_secs(5));
    recorder.sample("acme", "tasks-get", 3, Outcome::Succeeded).await;
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    recorder.sample("acme", "tasks-get", 4, Outcome::Succeeded).await;
    assert_eq!(invocations(&store, Resolution::Minute).await, 1);
    // Time passes (a frozen Lambda instance is thawed by its next event), then that event comes.
    tokio::time::advance(std::time::Duration::from_secs(5)).await;
    recorder.sample("acme", "tasks-get", 5, Outcome::Succeeded).await;
    assert_eq!(invocations(&store, Resolution::Minute).await, 3);
}

#[tokio::test(start_paused = true)]
async fn too_many_kept_buckets_are_written_whatever_their_age() {
    let store = std::sync::Arc::new(InMemoryMetrics::default());
    let recorder = Recorder::for_this_function(store.clone(), std::time::Duration::from_secs(60));
    recorder.sample("first", "tasks-get", 3, Outcome::Succeeded).await;
    // Each tenant's sample is two buckets (its minute and its hour).
    for i in 0..MAX_PENDING_BUCKETS / 2 - 1 {
        let tenant = if i == 0 { "acme".to_owned() } else { format!("t{i}") };
        recorder.sample(&tenant, "tasks-get", 3, Outcome::Succeeded).await;
    }
    assert_eq!(
        invocations(&store, Resolution::Minute).await,
        0,
        "one bucket short: kept"
    );
    recorder.sample("last", "tasks-get", 3, Outcome::Succeeded).await;
    assert_eq!(invocations(&store, Resolution::Minute).await, 1);
}
