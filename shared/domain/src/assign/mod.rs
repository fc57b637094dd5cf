//! Assign: a ready lead goes to a pool and a rep under the caps, reps act on their
//! leads, and missed deadlines remind, escalate or recycle.
//!
//! [`routing`] decides (pure), [`auto`] commits the decision, [`preview`] shows the same
//! decision with its reasons without committing it, [`actions`] are what reps and managers
//! do to a lead, [`deadlines`] is the sweep's part, [`notify`] the notices.

pub mod actions;
pub mod auto;
pub mod deadlines;
pub mod notify;
pub mod ports;
pub mod preview;
pub mod routing;
