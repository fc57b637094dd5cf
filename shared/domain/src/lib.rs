//! The lead-management domain: pure logic and the ports it needs.
//!
//! Nothing here touches AWS, the network or the clock directly; adapters implement
//! [`ports`] and handlers call the services ([`capture`]) with them.

pub mod actions;
pub mod assign;
pub mod attribution;
pub mod calendar;
pub mod campaign;
pub mod capture;
pub mod clean;
pub mod company;
pub mod conversion;
pub mod credit;
pub mod deadlines;
pub mod dedup;
pub mod erasure;
pub mod error;
pub mod events;
pub mod export;
pub mod funnel;
pub mod hooks;
pub mod import;
pub mod lead;
pub mod mask;
pub mod memory;
pub mod messages;
pub mod modeling;
pub mod money;
pub mod normalize;
pub mod notify;
pub mod ports;
pub mod predict;
pub mod qualify;
pub mod ratelimit;
pub mod reconcile;
pub mod reports;
pub mod rollup;
pub mod routing;
pub mod rules;
pub mod scoring;
pub mod sla;
pub mod submission;
pub mod track;

pub use error::{FieldError, FieldErrors};
pub use lead::{Lead, LeadId, Stage};
