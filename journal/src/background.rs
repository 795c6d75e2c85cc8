//! The writer's two helper threads, both off the hot path:
//! - the preallocator prepares segment N+1 (reserve, header, pre-touch, rename) while the
//!   writer fills segment N;
//! - the async syncer `msync`s appended bytes at an interval (`Durability::Async`).
//!
//! The writer talks to them through channels and, per append, one atomic store (position)
//! and one relaxed load (poison flag).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, RecvTimeoutError, Sender};

use crate::error::{JournalError, Result};
use crate::mapped::Syncer;
use crate::segment::WriteSegment;

/// Background creation of the next segments, kept `ahead` segments in front of the writer.
#[derive(Debug)]
pub struct Preallocator {
    requests: Option<Sender<u64>>,
    done: Receiver<(u64, Result<WriteSegment>)>,
    /// Requested, not yet received, in order.
    pending: VecDeque<u64>,
    /// Received, not yet taken, in order.
    ready: VecDeque<(u64, Result<WriteSegment>)>,
    thread: Option<JoinHandle<()>>,
}

impl Preallocator {
    /// Start the thread; segments are created in `dir` with the given geometry.
    pub fn start(
        dir: &Path,
        segment_bytes: u64,
        index_stride_bytes: u32,
        ahead: usize,
    ) -> Result<Self> {
        let (req_tx, req_rx) = bounded::<u64>(ahead.max(1));
        let (done_tx, done_rx) = bounded(ahead.max(1));
        let dir = dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("tickrail-jprealloc".into())
            .spawn(move || {
                for index in req_rx {
                    // A segment left prepared by an earlier run is opened and pre-touched;
                    // otherwise a new one is made.
                    let seg = if crate::segment::segment_path(&dir, index).exists() {
                        WriteSegment::open(&dir, index).map(|mut s| {
                            s.map.pre_touch(crate::format::SEGMENT_HEADER_BYTES);
                            s
                        })
                    } else {
                        WriteSegment::create(&dir, index, segment_bytes, index_stride_bytes)
                    };
                    if done_tx.send((index, seg)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| JournalError::io("<thread>", "spawn preallocator", e))?;
        Ok(Self {
            requests: Some(req_tx),
            done: done_rx,
            pending: VecDeque::new(),
            ready: VecDeque::new(),
            thread: Some(thread),
        })
    }

    /// Ask for segment `index` to be prepared (ignored if it already was).
    pub fn request(&mut self, index: u64) {
        if self.pending.contains(&index) || self.ready.iter().any(|(i, _)| *i == index) {
            return;
        }
        if let Some(tx) = &self.requests {
            if tx.send(index).is_ok() {
                self.pending.push_back(index);
            }
        }
    }

    /// Block until every requested segment is ready (start-up: go live with the journal's
    /// next segments already pre-touched).
    pub fn wait_all(&mut self) {
        while self.pending.pop_front().is_some() {
            match self.done.recv() {
                Ok(v) => self.ready.push_back(v),
                Err(_) => break,
            }
        }
    }

    /// Take segment `index`: `Some((segment, waited))` if it was requested, waiting for it if
    /// it is not ready yet; `None` if it was never requested.
    pub fn take(&mut self, index: u64) -> Option<(Result<WriteSegment>, bool)> {
        if self.ready.front().is_some_and(|(i, _)| *i == index) {
            return self.ready.pop_front().map(|(_, s)| (s, false));
        }
        if self.ready.is_empty() && self.pending.front() == Some(&index) {
            self.pending.pop_front();
            let (waited, got) = match self.done.try_recv() {
                Ok(v) => (false, Ok(v)),
                Err(_) => (true, self.done.recv()),
            };
            return match got {
                Ok((i, seg)) => {
                    debug_assert_eq!(i, index);
                    Some((seg, waited))
                }
                Err(_) => None,
            };
        }
        None
    }
}

impl Drop for Preallocator {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// State shared between the writer and the async syncer.
#[derive(Debug, Default)]
pub struct SyncShared {
    /// `segment << 40 | bytes appended in that segment`, stored by the writer per append.
    pub position: AtomicU64,
    /// Set when an `msync` failed; the writer refuses every later append.
    pub poisoned: AtomicBool,
    /// The failure, taken by the writer to report it once.
    pub failure: Mutex<Option<(PathBuf, std::io::Error)>>,
}

/// Offsets within a segment fit in 40 bits (segments are at most 1 TiB).
pub const POSITION_SHIFT: u32 = 40;

/// The `Durability::Async` thread.
#[derive(Debug)]
pub struct AsyncSyncer {
    pub shared: Arc<SyncShared>,
    segments: Sender<(u64, PathBuf, Syncer)>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl AsyncSyncer {
    /// Start syncing every `interval`.
    pub fn start(interval: Duration) -> Result<Self> {
        let shared = Arc::new(SyncShared::default());
        let (seg_tx, seg_rx) = unbounded::<(u64, PathBuf, Syncer)>();
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tickrail-jsync".into())
            .spawn(move || {
                let mut current: Option<(u64, PathBuf, Syncer, usize)> = None;
                loop {
                    let last = !matches!(
                        stop_rx.recv_timeout(interval),
                        Err(RecvTimeoutError::Timeout)
                    );
                    if let Err((path, e)) = tick(&sh, &seg_rx, &mut current) {
                        sh.poisoned.store(true, Ordering::Release);
                        if let Ok(mut f) = sh.failure.lock() {
                            *f = Some((path, e));
                        }
                        return;
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(|e| JournalError::io("<thread>", "spawn syncer", e))?;
        Ok(Self {
            shared,
            segments: seg_tx,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Hand over a newly active segment (at open and at each roll).
    pub fn track(&self, index: u64, path: PathBuf, syncer: Syncer) {
        let _ = self.segments.send((index, path, syncer));
    }

    /// Stop after one last sync.
    pub fn stop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AsyncSyncer {
    fn drop(&mut self) {
        self.stop();
    }
}

type Current = Option<(u64, PathBuf, Syncer, usize)>;

fn tick(
    sh: &SyncShared,
    segments: &Receiver<(u64, PathBuf, Syncer)>,
    current: &mut Current,
) -> std::result::Result<(), (PathBuf, std::io::Error)> {
    while let Ok((index, path, syncer)) = segments.try_recv() {
        if let Some((_, old_path, old, synced)) = current.take() {
            // The old segment is complete: flush everything after what we synced.
            old.sync_range(synced, usize::MAX / 2)
                .map_err(|e| (old_path, e))?;
        }
        *current = Some((index, path, syncer, 0));
    }
    let pos = sh.position.load(Ordering::Acquire);
    let (seg, off) = (
        pos >> POSITION_SHIFT,
        (pos & ((1 << POSITION_SHIFT) - 1)) as usize,
    );
    if let Some((index, path, syncer, synced)) = current {
        if *index == seg && off > *synced {
            syncer
                .sync_range(*synced, off - *synced)
                .map_err(|e| (path.clone(), e))?;
            *synced = off;
        }
    }
    Ok(())
}
