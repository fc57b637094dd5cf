//! The hand-off to the CRM when a lead converts (docs/src/rules/handoff.md): the
//! customer and contact created or linked, an opportunity opened and counted as a
//! conversion, and `lead.converted` delivered to the subscribed outbound webhooks,
//! signed, retried and once per lead. Conversions stay keyed to the lead, so ROI needs
//! nobody to post the opportunity by hand.

pub mod convert;
pub mod deliver;
pub mod outbound;
pub mod ports;
