//! Privacy: a person's data erased on request, everywhere it is kept, with an audit
//! record that names no one. (How contact data is masked in logs and notices is part of
//! the lead model: [`crate::lead::mask`].)

pub mod erasure;
pub mod ports;
