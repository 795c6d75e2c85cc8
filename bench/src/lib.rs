//! tickrail-bench: shared helpers for the harnesses in src/bin.
//!
//! Time is read only through the engine's clock seam
//! ([`tickrail_engine::runtime::clock`]); the raw `mmap` floor that
//! journal numbers are compared against lives in [`floor`] (the crate's only `unsafe`).

pub mod chain_harness;
pub mod dbn_gen;
pub mod floor;
pub mod journal_harness;
pub mod peers;
pub mod pipeline_harness;
pub mod report;
pub mod ring_harness;
pub mod stage_harness;
