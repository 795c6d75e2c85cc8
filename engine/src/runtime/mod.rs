//! The threaded runtime (DESIGN.md §1): rings between pinned threads, the stage threads,
//! the journaler, and what they measure.
//!
//! - [`ring`](mod@ring): single-producer rings (the `disruptor` crate, event pollers) with
//!   parallel consumers; [`wait`]: busy-spin, yield and block wait strategies.
//! - [`slot`]: what a ring slot holds (an event and measurement times).
//! - [`stage_thread`]: a thread running consecutive stages of the chain, fused.
//! - [`journaler`]: the thread that writes every input and output to the journal.
//! - [`threads`]: starting it all from a config; the feed side handed to the caller.
//! - [`counters`]: live counters, one writer per group; [`latency`]: fixed-range
//!   histograms; [`clock`]: the runtime's clock seam (measurement only).

pub mod clock;
pub mod counters;
pub mod journaler;
pub mod latency;
pub mod probe;
pub mod ring;
pub mod run_files;
pub mod slot;
pub mod stage_thread;
pub mod stats_file;
pub mod threads;
pub mod wait;

pub use ring::{ring, Closed, Disconnected, RingConsumer, RingError, RingFull, RingProducer};
pub use slot::Slot;
pub use threads::{
    start, start_from, Finished, InputSide, Offered, OutputTap, Resume, Running, StartError,
    Started,
};
pub use wait::{BlockWait, SpinWait, WaitKind, WaitStats, YieldWait};
