//! The core of the domain: the lead and every value it carries, the messages that move
//! it between functions, and the ports every area shares (clock, lead store, bus).
//!
//! This area depends on no other: what qualification, follow-up, prediction or import
//! decided is stored on the lead as plain values defined here, and the rules that decide
//! them live in their own areas.

pub mod error;
pub mod events;
pub mod funnel;
pub mod mask;
pub mod messages;
mod model;
pub mod normalize;
pub mod ports;
pub mod profile;
pub mod qualification;
pub mod retry;
pub mod versioned;

pub use model::*;
