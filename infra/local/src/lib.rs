//! Dev-only: runs `infra/template.yaml` on one machine with no AWS account.
//!
//! A DynamoDB/SQS emulator (moto) stands in for AWS, `cargo lambda watch` runs the
//! functions, and this crate does what AWS does between them: it creates the
//! template's tables and queues, serves its HTTP routes as API Gateway would, delivers
//! SQS batches and the table's stream as event source mappings would, and fires its
//! schedules.

pub mod bulk;
pub mod demo;
pub mod gateway;
pub mod invoke;
pub mod moto;
pub mod provision;
pub mod redrive;
pub mod rollups;
pub mod runner;
pub mod seed;
pub mod spike;
pub mod stream;
pub mod template;
