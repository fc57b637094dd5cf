//! Qualify: a captured lead is cleaned, matched against earlier leads and customers,
//! scored, and announced as ready for assignment (or kept as junk with its reason).
//!
//! [`pipeline`] is the use case; [`clean`], [`company`], [`dedup`] and [`scoring`] are
//! the pure rules it applies, configured by [`rules`].

pub mod clean;
pub mod company;
pub mod customer;
pub mod dedup;
pub mod pipeline;
pub mod ports;
pub mod rules;
pub mod scoring;
