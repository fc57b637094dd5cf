//! Attribution: conversions reported by the CRM or finance are credited to the touches
//! that led to them, and rolled up with costs into the funnel and ROI reports.
//!
//! [`conversion`] and [`credit`] take conversions in exactly once, [`multi_touch`] shares
//! credit by model, [`rollup`] keeps the report rows (the funnel steps a lead write records
//! are named by [`crate::lead::funnel`] and added up by [`fold`]), [`campaign`] and
//! [`money`] the costs, [`reports`] and [`export`] answer finance, [`reconcile`] checks
//! the rows against their raw records.

pub mod campaign;
pub mod conversion;
pub mod credit;
pub mod export;
pub mod fold;
pub mod money;
pub mod multi_touch;
pub mod ports;
pub mod reconcile;
pub mod reports;
pub mod rollup;
