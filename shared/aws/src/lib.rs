//! AWS adapters for the domain's ports, and the bits of wiring every function shares.
//!
//! One file per port it implements (`lead_store`, `dedup_store`, `routing_store`, …,
//! `message_bus` for SQS, `notifier` for webhooks), each storing exactly what the
//! domain's commit objects carry. They share [`store`] (the client and its generic reads
//! and writes), [`item`] (items and transaction writes), [`keys`] (the single-table key
//! layout) and [`rollup`] (rollup rows and funnel steps as items); `config_history` keeps
//! every version of the versioned configuration documents; `step_stream` reads funnel
//! steps back off the table's stream. `batch`, `env`,
//! `telemetry` (logs) and `metrics` (EMF counts) are the Lambda wiring.

pub mod batch;
pub mod config_history;
pub mod conversion_store;
pub mod dedup_store;
pub mod env;
pub mod erasure_store;
pub mod handoff_store;
pub mod hook_store;
pub mod import_store;
pub mod item;
pub mod job_store;
pub mod keys;
pub mod lead_store;
pub mod list_store;
pub mod message_bus;
pub mod metrics;
pub mod model_store;
pub mod notifier;
pub mod paging;
pub mod rate_counters;
pub mod report_store;
pub mod rollup;
pub mod routing_store;
pub mod rules_store;
pub mod sla_store;
pub mod step_stream;
pub mod store;
pub mod telemetry;
pub mod touch_store;

pub use message_bus::SqsBus;
pub use store::DynamoStore;
