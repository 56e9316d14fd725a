//! Counters per transition, and how they read.

use super::*;

fn task(status: TaskStatus, created: &str, finished: Option<&str>, provider: Option<&str>) -> Task {
    let mut t = Task::example("t");
    (t.status, t.attempts, t.created_at) = (status, 1, created.to_owned());
    (t.finished_at, t.provider) = (finished.map(str::to_owned), provider.map(str::to_owned));
    t
}

fn apply(c: &mut Counters, adds: Vec<(String, i64)>) {
    for (k, v) in adds {
        *c.entry(k).or_default() += v;
    }
}

#[test]
fn transitions_add_up_to_counts_by_status_rate_and_percentiles() {
    let mut c = Counters::new();
    let start = "2026-11-22T10:00:00.000Z";
    for i in 0..4 {
        apply(&mut c, on_create(&task(TaskStatus::Pending, start, None, None)));
        apply(&mut c, on_first_start());
        let finished = format!("2026-11-22T10:00:0{i}.200Z");
        apply(
            &mut c,
            on_finish(&task(TaskStatus::Completed, start, Some(&finished), Some("local"))),
        );
    }
    apply(&mut c, on_create(&task(TaskStatus::Pending, start, None, None)));
    apply(&mut c, on_first_start());
    apply(&mut c, on_finish(&task(TaskStatus::Failed, start, Some(start), None)));
    apply(&mut c, on_create(&task(TaskStatus::Pending, start, None, None)));
    apply(&mut c, on_cancel(TaskStatus::Pending));
    apply(&mut c, on_create(&task(TaskStatus::Pending, start, None, None)));
    apply(
        &mut c,
        on_create(&task(TaskStatus::Completed, start, Some(start), None)),
    );
    let v = view(&c);
    assert_eq!(
        v["counts_by_status"],
        json!({"pending": 1, "running": 0, "completed": 5, "failed": 1, "cancelled": 1})
    );
    assert_eq!(v["completion_rate"], json!(5.0 / 7.0));
    // 200 ms, 1.2 s, 2.2 s, 3.2 s: half are within 2.5 s, 95 % within 5 s.
    assert_eq!(
        (
            v["processing_time"]["p50"].as_str(),
            v["processing_time"]["p95"].as_str()
        ),
        (Some("<= 2500 ms"), Some("<= 5000 ms"))
    );
    assert_eq!(v["completed_by_provider"], json!({"local": 4}));
}

#[test]
fn no_tasks_reads_as_zeros_without_percentiles() {
    let v = view(&Counters::new());
    assert_eq!(
        (v["tasks_created"].as_i64(), v["completion_rate"].is_null()),
        (Some(0), true)
    );
    assert!(v["processing_time"]["p50"].is_null());
}
