//! Portcullis

pub mod store;
pub mod trust;
