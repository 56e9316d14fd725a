//! Port: where a task's changes of state are published, whichever operation makes them (the worker's
//! finish, a cancel, a dead-lettered message settled, a task that could not be queued). The WebSocket
//! API's adapter is `crate::connections::publish::WebSocketPublisher`.

use std::future::Future;
use std::pin::Pin;

use super::model::Task;

/// Publishes a task's new state; a failure is the adapter's to log (the change has happened).
pub trait TaskUpdates: Send + Sync {
    fn published<'a>(&'a self, task: &'a Task) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}
