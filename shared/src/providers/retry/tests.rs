//! Backoff, jitter, Retry-After and the fallback chain, with a recorded sleep instead of a real one.

use std::cell::RefCell;

use super::*;
use crate::providers::Usage;

fn ok(provider: &str) -> ChatResponse {
    ChatResponse {
        text: "hi".into(),
        provider: provider.into(),
        model: "m".into(),
        usage: Usage::default(),
        finish_reason: None,
        tool_calls: Vec::new(),
    }
}

fn chain() -> Vec<(String, String)> {
    vec![
        ("openai".into(), "gpt-4o-mini".into()),
        ("anthropic".into(), "claude".into()),
    ]
}

#[test]
fn backoff_grows_exponentially_with_full_jitter_and_honours_retry_after() {
    let p = RetryPolicy::default();
    let server = ProviderError::Server { status: 503 };
    assert_eq!(p.delay(0, &server, 1.0), Duration::from_millis(500));
    assert_eq!(p.delay(3, &server, 1.0), Duration::from_secs(4));
    assert_eq!(p.delay(3, &server, 0.25), Duration::from_secs(1));
    assert_eq!(p.delay(10, &server, 1.0), Duration::from_secs(20));
    let limited = ProviderError::RateLimited {
        retry_after: Some(Duration::from_secs(7)),
    };
    assert_eq!(p.delay(0, &limited, 0.0), Duration::from_secs(7));
    assert!((0.0..1.0).contains(&unit_random()));
}

#[tokio::test]
async fn a_429_then_success_waits_as_told_and_answers() {
    let calls = RefCell::new(0);
    let slept = RefCell::new(Vec::new());
    let out = with_fallback(
        &chain(),
        RetryPolicy::default(),
        |p, _| {
            *calls.borrow_mut() += 1;
            let first = *calls.borrow() == 1;
            let p = p.to_owned();
            async move {
                if first {
                    Err(ProviderError::RateLimited {
                        retry_after: Some(Duration::from_secs(2)),
                    })
                } else {
                    Ok(ok(&p))
                }
            }
        },
        |d| {
            slept.borrow_mut().push(d);
            async {}
        },
    )
    .await
    .unwrap();
    assert_eq!(out.provider, "openai");
    assert_eq!(*slept.borrow(), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn exhausted_5xx_moves_to_the_next_provider_and_refusals_are_not_retried() {
    let seen = RefCell::new(Vec::new());
    let err = with_fallback(
        &chain(),
        RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        },
        |p, _| {
            seen.borrow_mut().push(p.to_owned());
            let p = p.to_owned();
            async move {
                if p == "openai" {
                    Err(ProviderError::Server { status: 500 })
                } else {
                    Err(ProviderError::Refused {
                        status: 401,
                        message: "bad key".into(),
                    })
                }
            }
        },
        |_| async {},
    )
    .await
    .unwrap_err();
    assert_eq!(*seen.borrow(), ["openai", "openai", "openai", "anthropic"]);
    assert_eq!(
        err.to_string(),
        "all providers failed: openai (gpt-4o-mini) after 3 attempt(s): server error (500); \
         anthropic (claude) after 1 attempt(s): request refused (401): bad key"
    );
}
