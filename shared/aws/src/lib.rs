//! AWS adapters for the domain's ports, and the bits of wiring every function shares.

pub mod analytics;
pub mod batch;
pub mod dynamo;
pub mod env;
pub mod erasure;
pub mod hooks;
pub mod imports;
pub mod keys;
pub mod models;
pub mod qualify;
pub mod ratelimit;
pub mod routing;
pub mod sla;
pub mod sqs;
pub mod telemetry;
pub mod webhook;

pub use dynamo::DynamoStore;
pub use sqs::SqsBus;
