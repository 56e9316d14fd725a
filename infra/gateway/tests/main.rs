//! Tests of the emulator itself: the poller's SQS and FIFO triggers against moto (`make test` starts
//! the local stack and runs them with `--ignored`), and the HTTP API's CORS and HEAD routes of a
//! fixture template (no stack needed). The product's end-to-end tests are in `functions/tests/e2e`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fifo_trigger;
mod http_cors;
mod sqs_trigger;

mod helpers {
    pub const NEEDS_STACK: &str = "needs the local stack: run `make test`";
}
