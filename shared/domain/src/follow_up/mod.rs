//! Follow-up: which deadlines run on a lead, counted in working time on its team's
//! calendar, and when each is due, reminded or breached.
//!
//! Pure rules: [`sla`] for the clocks, [`calendar`] for working days and hours. The
//! sweep that acts on them lives with assignment ([`crate::assign::deadlines`]),
//! since what it does to a breached lead is an ownership change.

pub mod calendar;
pub mod ports;
pub mod sla;
