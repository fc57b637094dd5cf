//! The workspace: how the people working leads find them. A rep's own leads and their
//! pools' waiting leads, a manager's team, everything for an admin; filtered, sorted and
//! paged so that a page costs reads in proportion to the page, never to the table.
//!
//! - [`index`]: where each lead is listed (its place and its position in each order),
//!   which the store's list indexes are keyed on.
//! - [`query`]: the list's filters, sort and page as the API takes them, validated.
//! - [`plan`]: which partitions of which index serve a query for a caller.
//! - [`list`]: walking those partitions a page at a time, with an opaque cursor.
//! - [`view`]: a lead as a list row, masked for a caller who does not own it.
//! - [`search`]: the duplicate check (查重) by phone, e-mail, WeChat id or company.

pub mod index;
pub mod list;
pub mod plan;
pub mod ports;
pub mod query;
pub mod search;
pub mod view;
