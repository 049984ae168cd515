//! Portcullis
