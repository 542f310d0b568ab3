//! tokio-restore: a test subject for leakgate. It reproduces, in Rust on
//! tokio, the parts of Aptos backup-cli that decide what a failed restore
//! leaks: the CommandAdapter ([`adapter`]), open_for_read's reader and its
//! drop (four [`adapter::Variant`]s), and the epoch-ending restore's read
//! path ([`restore`]). Written for leakgate from the project's description
//! of backup-cli; not backup-cli's code.

pub mod adapter;
pub mod config;
pub mod ledger;
pub mod linger;
pub mod manifest;
pub mod record;
pub mod restore;
pub mod poc;
