//! Data import for AIMA.
//!
//! - [`field`]: the 15 field types a column can be mapped to.
//! - [`values`]: parsing of dates, money, phone numbers, quantities (pure).
//! - [`detect`]: column detection from headers and values, with confidence.
//! - [`source`]: streaming readers for CSV, XLSX and Google Sheets links.
//! - [`demo`]: the demo data set (CDNOW transactions shipped in the repo,
//!   enriched with seeded synthetic names, e-mails, cities, channels, events).
//! - [`demo_install`]: writes the demo data set into an organization.
//! - [`pipeline`]: preview and transactional writing through the store.

pub mod demo;
pub mod demo_install;
pub mod detect;
pub mod error;
pub mod field;
pub mod pipeline;
pub mod source;
pub mod values;

pub use error::IngestError;
pub use field::Field;
