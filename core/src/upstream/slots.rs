//! `max_concurrent` and `max_queue`: at most N requests at an upstream at
//! once, a bounded number waiting for a slot, and the rest refused at once
//! as busy, so one slow server cannot collect an unbounded backlog. A
//! waiting request that its client cancels leaves the queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::UpstreamError;
use crate::config::Concurrency;

/// The slots of one upstream.
pub(super) struct Slots {
    limit: Concurrency,
    free: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// A request's slot, given back when it is dropped (its answer came).
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

/// Requests running and waiting at an upstream with a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Load {
    /// Holding a slot.
    pub running: usize,
    /// Waiting for one.
    pub waiting: usize,
}

/// Counts a waiting request for as long as it waits.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Slots {
    pub(super) fn new(limit: Concurrency) -> Self {
        Self {
            limit,
            free: Arc::new(Semaphore::new(limit.max)),
            waiting: AtomicUsize::new(0),
        }
    }

    pub(super) fn load(&self) -> Load {
        Load {
            running: self.limit.max - self.free.available_permits(),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    /// A slot for one request of `server`: at once if one is free, else
    /// after waiting in the queue (at most `timeout`, or until `cancel`).
    pub(super) async fn take(
        &self,
        server: &str,
        cancel: &CancellationToken,
        timeout: Duration,
    ) -> Result<Slot, UpstreamError> {
        if let Ok(permit) = self.free.clone().try_acquire_owned() {
            return Ok(Slot(permit));
        }
        let busy = || {
            let load = self.load();
            UpstreamError::Busy {
                server: server.to_owned(),
                running: load.running,
                waiting: load.waiting,
                max_concurrent: self.limit.max,
                max_queue: self.limit.queue,
            }
        };
        // Joins the queue only if there is room (counted before the check
        // so that two arrivals cannot both take the last place).
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.limit.queue {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(busy());
        }
        let _waiting = Waiting(&self.waiting);
        tokio::select! {
            permit = self.free.clone().acquire_owned() => {
                permit.map(Slot).map_err(|_| UpstreamError::ShuttingDown)
            }
            () = cancel.cancelled() => Err(UpstreamError::CancelledWaiting { server: server.to_owned() }),
            () = tokio::time::sleep(timeout) => Err(UpstreamError::Timeout {
                server: server.to_owned(),
                method: "a free slot (max_concurrent)".to_owned(),
                after: timeout,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_queue_is_bounded_and_a_cancelled_wait_leaves_it() {
        let slots = Arc::new(Slots::new(Concurrency { max: 1, queue: 1 }));
        let never = CancellationToken::new();
        let long = Duration::from_secs(30);
        let first = slots.take("s", &never, long).await.unwrap();
        assert_eq!(
            slots.load(),
            Load {
                running: 1,
                waiting: 0
            }
        );

        let cancel = CancellationToken::new();
        let queued = {
            let (slots, cancel) = (slots.clone(), cancel.clone());
            tokio::spawn(async move { slots.take("s", &cancel, long).await.map(|_| ()) })
        };
        while slots.load().waiting == 0 {
            tokio::task::yield_now().await;
        }
        let refused = slots.take("s", &never, long).await.err().unwrap();
        assert!(
            matches!(
                refused,
                UpstreamError::Busy {
                    running: 1,
                    waiting: 1,
                    ..
                }
            ),
            "{refused}"
        );
        assert!(
            refused.to_string().contains("max_concurrent = 1"),
            "{refused}"
        );

        cancel.cancel();
        let left = queued.await.unwrap().unwrap_err();
        assert!(
            matches!(left, UpstreamError::CancelledWaiting { .. }),
            "{left}"
        );
        assert_eq!(
            slots.load(),
            Load {
                running: 1,
                waiting: 0
            }
        );

        drop(first);
        let again = slots.take("s", &never, long).await;
        assert!(again.is_ok());
    }
}
