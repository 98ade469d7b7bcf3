//! Work in progress (issue 4): see the crate overview.
