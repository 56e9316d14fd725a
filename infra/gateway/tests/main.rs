//! Tests of the emulator itself against moto: the poller's SQS and FIFO triggers (`make test` starts
//! the local stack and runs them with `--ignored`). The product's end-to-end tests are in
//! `functions/tests/e2e`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fifo_trigger;
mod sqs_trigger;

mod helpers {
    pub const NEEDS_STACK: &str = "needs the local stack: run `make test`";
}
