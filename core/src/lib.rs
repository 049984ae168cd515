//! Portcullis

pub mod search;
