//! The threaded runtime (docs/DESIGN.md §3): rings between pinned threads, the stage threads,
//! the journaler, and what they measure.
//!
//! - [`ring`](mod@ring): single-producer rings (the `disruptor` crate, event pollers) with
//!   parallel consumers; [`wait`]: busy-spin, yield and block wait strategies.
//! - [`slot`]: what a ring slot holds (an event and measurement times).
//! - [`stage_thread`]: a thread running consecutive stages of the chain, fused.
//! - [`inline`]: the whole chain run on the feed thread instead (a small box's layout).
//! - [`journaler`]: the thread that writes every input and output to the journal.
//! - [`threads`]: starting it all from a config; the feed side handed to the caller.
//! - [`market`]: what the engine trades against ([`Market`], [`LiveMarket`]).
//! - [`feed`]: the feed thread's loop: outputs to the market, market inputs and timers to
//!   the Sequencer, operator commands.
//! - [`live`]: a whole live run — engine threads, feed thread, stats file, snapshots.
//! - [`shadow`]: the snapshot thread; [`snapshot_file`]: the snapshot file format.
//! - [`run_files`]: the config and model copies in a run directory; [`run_journals`]: its
//!   two journals, created or reopened in one place.
//! - [`counters`]: live counters, one writer per group; [`latency`]: fixed-range
//!   histograms; [`clock`]: the workspace's one clock (monotonic and wall time, UTC civil
//!   time for stamps and FIX); [`wait`]: also the one idle back-off ([`Idle`]) every wait
//!   loop uses.

pub mod clock;
pub mod counters;
pub mod feed;
pub mod inline;
pub mod journaler;
pub mod latency;
pub mod live;
pub mod market;
pub mod probe;
pub mod ring;
pub mod run_files;
pub mod run_journals;
pub mod shadow;
pub mod slot;
pub mod snapshot_file;
pub mod stage_thread;
pub mod stats_file;
pub mod threads;
pub mod wait;

pub use feed::{FeedLoop, FeedObserver, FeedReport, LiveControl};
pub use inline::InlineRun;
pub use live::{LiveError, LiveReport, ResumeFrom};
pub use market::{LiveMarket, Market};
pub use ring::{ring, Closed, Disconnected, RingConsumer, RingError, RingFull, RingProducer};
pub use slot::Slot;
pub use threads::{
    start, start_from, Finished, InputSide, Offered, OutputTap, Resume, Running, StartError,
    Started,
};
pub use wait::{BlockWait, Idle, SpinWait, WaitKind, WaitStats, Wake, YieldWait};
