use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::service_fn;
use shared::metrics::memory::InMemoryMetrics;
use shared::metrics::{summarize, MetricsStore, Outcome, Resolution};

use super::*;

async fn invocations(store: &InMemoryMetrics) -> u64 {
    let buckets = store.read("acme", Resolution::Minute, 0, i64::MAX).await.unwrap();
    summarize(&buckets).iter().map(|s| s.invocations).sum()
}

fn invocation() -> LambdaInvocation {
    LambdaInvocation {
        parts: http::Response::new(()).into_parts().0,
        body: bytes::Bytes::new(),
        context: lambda_runtime::Context::default(),
    }
}

/// A deferred recorder keeping samples for 5 s, as deployed, and its store.
fn recorder() -> (Recorder, Arc<InMemoryMetrics>) {
    let store = Arc::new(InMemoryMetrics::default());
    let recorder = Recorder::named(store.clone(), "tasks-get").keeping_for(Duration::from_secs(5));
    recorder.defer_to_after_response();
    (recorder, store)
}

#[tokio::test]
async fn a_cold_instances_first_sample_is_written_after_the_response_not_before() {
    // GIVEN a recorder deferred to after the response, and an invocation that records a sample
    // (the first of the instance: due at once) and a second one
    let (recorder, store) = recorder();
    let answering = {
        let (recorder, store) = (recorder.clone(), store.clone());
        service_fn(move |_: LambdaInvocation| {
            let (recorder, store) = (recorder.clone(), store.clone());
            async move {
                recorder.sample("acme", "tasks-get", 3, Outcome::Succeeded).await;
                recorder.sample("acme", "tasks-get", 4, Outcome::Succeeded).await;
                // THEN nothing is written while it answers
                assert_eq!(invocations(&store).await, 0, "written before the response");
                Ok::<(), BoxError>(())
            }
        })
    };
    let mut service = AfterResponse {
        recorder: Some(recorder),
    }
    .layer(answering);

    // WHEN the invocation is answered through the layer
    service.call(invocation()).await.unwrap();

    // THEN both samples were written once it was, added up
    assert_eq!(invocations(&store).await, 2);
}

#[tokio::test]
async fn an_invocation_that_makes_nothing_due_writes_nothing_after_it() {
    // GIVEN a recorder that wrote an instance's first sample a moment ago
    let (recorder, store) = recorder();
    recorder.sample("acme", "tasks-get", 3, Outcome::Succeeded).await;
    recorder.clone().after_response().await;
    assert_eq!(invocations(&store).await, 1);
    let answering = {
        let recorder = recorder.clone();
        service_fn(move |_: LambdaInvocation| {
            let recorder = recorder.clone();
            async move {
                recorder.sample("acme", "tasks-get", 5, Outcome::Succeeded).await;
                Ok::<(), BoxError>(())
            }
        })
    };
    let mut service = AfterResponse {
        recorder: Some(recorder.clone()),
    }
    .layer(answering);

    // WHEN the next invocation's sample is kept (the burst's, not yet due)
    service.call(invocation()).await.unwrap();

    // THEN it is still kept after the response, for a later write
    assert_eq!(invocations(&store).await, 1);
    recorder.flush().await;
    assert_eq!(invocations(&store).await, 2);
}

#[tokio::test]
async fn a_failed_answer_is_returned_after_the_writes() {
    let (recorder, store) = recorder();
    let answering = {
        let recorder = recorder.clone();
        service_fn(move |_: LambdaInvocation| {
            let recorder = recorder.clone();
            async move {
                recorder.sample("acme", "tasks-get", 3, Outcome::Failed).await;
                Err::<(), BoxError>("the Runtime API refused the response".into())
            }
        })
    };
    let mut service = AfterResponse {
        recorder: Some(recorder),
    }
    .layer(answering);
    let err = service.call(invocation()).await.unwrap_err();
    assert!(err.to_string().contains("refused"));
    assert_eq!(invocations(&store).await, 1);
}
