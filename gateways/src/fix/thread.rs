//! What the FIX gateway and venue threads share: start-up (spawn, wait until the QuickFIX
//! engine is started or the thread failed), shutdown (clear `running`, join) and the hand-
//! over of work through a bounded ring with back-pressure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use crossbeam::queue::ArrayQueue;
use tickrail_engine::runtime::wait::{Idle, WaitKind};

/// One session thread: its `running` flag and its handle. Dropping it stops the thread
/// (an error it stopped with is logged).
#[derive(Debug)]
pub(crate) struct SessionThread<E: std::fmt::Display> {
    running: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), E>>>,
    /// `E`'s "the thread itself failed" variant.
    thread_error: fn(String) -> E,
}

impl<E: std::fmt::Display + Send + 'static> SessionThread<E> {
    /// Spawns `body` on a thread named `name` and returns once it signals ready (the
    /// `SyncSender` it is given), or with the error it stopped with. `running` turns false
    /// on [`stop`](Self::stop).
    pub(crate) fn spawn(
        name: &str,
        running: Arc<AtomicBool>,
        thread_error: fn(String) -> E,
        body: impl FnOnce(mpsc::SyncSender<()>) -> Result<(), E> + Send + 'static,
    ) -> Result<Self, E> {
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(ready_tx))
            .map_err(|e| thread_error(e.to_string()))?;
        match ready_rx.recv() {
            Ok(()) => Ok(Self {
                running,
                thread: Some(thread),
                thread_error,
            }),
            Err(_) => Err(match thread.join() {
                Ok(Err(e)) => e,
                Ok(Ok(())) => thread_error("exited during start-up".into()),
                Err(_) => thread_error("panicked during start-up".into()),
            }),
        }
    }

    /// Clears `running` and joins the thread (once; later calls return `Ok`).
    pub(crate) fn stop(&mut self) -> Result<(), E> {
        self.running.store(false, Ordering::Release);
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| (self.thread_error)("panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl<E: std::fmt::Display> Drop for SessionThread<E> {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Release);
        let name = self
            .thread
            .as_ref()
            .and_then(|t| t.thread().name().map(str::to_owned));
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!("{} stopped with an error: {e}", name.unwrap_or_default())
                }
                Err(_) => tracing::warn!("{} panicked", name.unwrap_or_default()),
            }
        }
    }
}

/// Pushes `item` into `ring`, yielding while it is full as long as `running` (back-pressure
/// on the producer rather than a lost message); `false` if the ring was still full once
/// `running` turned false (the caller counts the drop).
pub(crate) fn push_or_drop<T>(ring: &ArrayQueue<T>, item: T, running: &AtomicBool) -> bool {
    let mut item = item;
    let mut idle = Idle::new(WaitKind::Yield);
    loop {
        match ring.push(item) {
            Ok(()) => return true,
            Err(back) if running.load(Ordering::Acquire) => {
                item = back;
                idle.idle();
            }
            Err(_) => return false,
        }
    }
}
