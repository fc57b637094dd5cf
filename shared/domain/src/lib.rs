//! The lead-management domain: pure logic and the ports it needs, one folder per
//! business area.
//!
//! Nothing here touches AWS, the network or the clock directly. Each area holds its
//! model, its rules, its use cases and the ports those use cases need (`<area>::ports`);
//! adapters (`leadflow-aws`, and [`memory`] in tests) implement the ports, and the Lambda
//! functions call the use cases with them.
//!
//! Imports point inward: [`lead`] (the lead, its messages and the ports every area
//! shares) depends on no other area, and the areas form no cycle
//! (`scripts/check-cycles.py`, run by CI). From the bottom up:
//!
//! - [`lead`]: the lead model and the values it carries, the bus messages, the shared ports.
//! - [`predict`]: the learned conversion probability beside the rule score.
//! - [`qualify`]: cleaning, dedup, company matching, rule scoring — `lead.captured` → ready.
//! - [`capture`]: forms, events and signed pushes in, validated and stored with an outbox.
//! - [`follow_up`]: deadlines on working time: which clocks run, when they are due.
//! - [`assign`]: pools, routing, rep actions, and the sweep that acts on missed deadlines.
//! - [`import`]: bulk files through the same capture and qualify path.
//! - [`attribution`]: conversions, multi-touch credit, rollups, campaigns, funnel, ROI.
//! - [`privacy`]: data-subject erasure.
//! - [`workspace`]: how people find leads: lists, filters, the duplicate check.
//! - [`roster`]: roster changes as jobs: a rep's open leads moved in bulk, a lowered cap.

pub mod assign;
pub mod attribution;
pub mod capture;
pub mod follow_up;
pub mod handoff;
pub mod import;
pub mod lead;
pub mod predict;
pub mod privacy;
pub mod qualify;
pub mod roster;
pub mod workspace;

#[cfg(any(test, feature = "test-support"))]
pub mod memory;

pub use lead::error::{FieldError, FieldErrors};
pub use lead::{Lead, LeadId, Stage};
