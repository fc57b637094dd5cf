//! Capture: what comes in from landing pages, tracking scripts and ad platforms' pushes
//! is validated, stored and announced, and nothing valid is lost on the way.
//!
//! A form becomes a [`submission::Submission`] (or a kept invalid lead with its reason),
//! [`intake`] writes it with an outbox and publishes `lead.captured`; [`track`] records
//! events, [`hooks`] verifies and maps signed pushes, [`ratelimit`] counts abuse.

pub mod hooks;
pub mod intake;
pub mod ports;
pub mod ratelimit;
pub mod submission;
pub mod track;
