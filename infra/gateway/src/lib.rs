//! The local API Gateway: reads `template.yaml`, serves its HTTP API by invoking the functions through
//! the Lambda Invoke API (`cargo lambda watch`), runs its SQS triggers, and provisions its resources on
//! the local emulators. WebSocket APIs slot in beside `server` and `routes` with their own route table.

pub mod authorizers;
pub mod console;
pub mod cors;
pub mod event;
pub mod host;
pub mod intrinsic;
pub mod invoke;
pub mod local;
pub mod poller;
pub mod provision;
pub mod resources;
pub mod routes;
pub mod schedule;
pub mod server;
pub mod template;
pub mod websocket;
