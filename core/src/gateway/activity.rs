//! Tool calls go to the activity log in batches, off the hot path: a call
//! only queues its record; one task writes what has queued in a single
//! transaction and prunes the log by age and row count now and then.
//! Identical calls of one batch (an agent looping on a tool) become one row
//! that counts them, so a burst costs one insert and cannot flush the log.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Gateway;
use crate::store::CallRecord;

/// At most this many rows stay in the log.
const MAX_ROWS: usize = 100_000;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long a batch gathers calls after its first one.
const GATHER: Duration = Duration::from_millis(200);
/// The most calls in one transaction.
const MAX_BATCH: usize = 1024;

pub(super) async fn write_calls(gw: Gateway, mut rx: mpsc::Receiver<CallRecord>) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    loop {
        let first = tokio::select! {
            r = rx.recv() => r,
            () = gw.inner.cancel.cancelled() => None,
        };
        let mut batch: Vec<CallRecord> = first.into_iter().collect();
        // Gather what arrives in the next moment: one transaction for a burst.
        if !batch.is_empty() {
            let until = tokio::time::Instant::now() + GATHER;
            while batch.len() < MAX_BATCH {
                tokio::select! {
                    r = rx.recv() => match r {
                        Some(r) => batch.push(r),
                        None => break,
                    },
                    () = tokio::time::sleep_until(until) => break,
                    () = gw.inner.cancel.cancelled() => break,
                }
            }
        }
        let done = batch.is_empty();
        let store = gw.inner.store.clone();
        let prune = last_prune.elapsed() >= PRUNE_EVERY;
        // Calls older than the configured retention leave the log (read each
        // time: a change in Settings applies at the next prune).
        let max_age = gw.settings().activity_retention;
        if prune {
            last_prune = Instant::now();
        }
        let result = tokio::task::spawn_blocking(move || {
            if !batch.is_empty() {
                store.record_calls(&crate::store::coalesce(batch))?;
            }
            if prune {
                store.prune(max_age, MAX_ROWS)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::warn!("writing the activity log failed: {e}");
        }
        if done {
            return;
        }
    }
}
