//! Configuration documents saved with optimistic versioning (scoring rules, routing, SLA
//! policies, attribution models): an edit names the version it was read as and is saved
//! as the next one, stamped with the time; the store refuses it if someone saved another
//! version in between (`Saved::Conflict`). Every version stays readable.

use chrono::{DateTime, Utc};

pub trait Versioned {
    fn version(&self) -> u64;
    /// Sets the version and when it was saved.
    fn stamp(&mut self, version: u64, at: DateTime<Utc>);

    /// Makes this edit the version after the one it was read as, saved `now`; returns
    /// the version it was based on (the store's write condition).
    fn next_version(&mut self, now: DateTime<Utc>) -> u64 {
        let based_on = self.version();
        self.stamp(based_on + 1, now);
        based_on
    }
}
