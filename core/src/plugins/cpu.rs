//! Guest CPU: measured per call, capped by a budget, and preempted so a busy guest never
//! holds a runtime thread for long.
//!
//! Guests run on the tokio runtime that also serves HTTP and the queue. Every epoch tick
//! (1 ms) a running guest yields to the executor, so other tasks get the thread back. A
//! guest that has run for longer than [`FAST_LANE`] is a long runner: before it runs on it
//! waits for a permit of the *long lane*, which has half the cores' worth of permits, so
//! long runners together never take more than half the machine and short calls (a
//! composer's `adapt`, a health check) keep the rest. Time spent in host calls (HTTP, sleep,
//! key-value) is not CPU and releases the permit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::UpdateDeadline;

/// CPU a call may use before it has to share the long lane.
pub const FAST_LANE: Duration = Duration::from_millis(5);

/// How many long runners may run at once on a machine with `cores` cores.
pub fn long_lane_permits(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// Why the epoch callback stopped a guest: its CPU budget is spent.
#[derive(Debug, thiserror::Error)]
#[error("used {used:?} of CPU, more than its budget of {budget:?}")]
pub struct CpuExhausted {
    pub used: Duration,
    pub budget: Duration,
}

/// One call's CPU account.
pub struct CpuMeter {
    budget: Duration,
    used: Duration,
    /// When the guest last (re)started running on a thread.
    resumed_at: Arc<Mutex<Instant>>,
    long_lane: Arc<Semaphore>,
    /// The long-lane permit while the guest holds one.
    held: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
}

impl CpuMeter {
    pub fn new(budget: Duration, long_lane: Arc<Semaphore>) -> Self {
        Self {
            budget,
            used: Duration::ZERO,
            resumed_at: Arc::new(Mutex::new(Instant::now())),
            long_lane,
            held: Arc::new(Mutex::new(None)),
        }
    }

    pub fn used(&self) -> Duration {
        self.used
    }

    fn take_ran(&mut self, now: Instant) -> Duration {
        let mut at = self.resumed_at.lock().unwrap_or_else(|e| e.into_inner());
        let ran = now.saturating_duration_since(*at);
        *at = now;
        ran
    }

    /// The guest reached an epoch deadline: charge what it ran, stop it past its budget,
    /// else yield (through the long lane once it is a long runner).
    pub fn on_deadline(&mut self) -> wasmtime::Result<UpdateDeadline> {
        let now = Instant::now();
        let ran = self.take_ran(now);
        self.used += ran;
        if self.used > self.budget {
            return Err(wasmtime::Error::new(CpuExhausted {
                used: self.used,
                budget: self.budget,
            }));
        }
        if ran < Duration::from_micros(500) {
            // Just resumed after a yield: the deadline is stale, not the guest busy.
            return Ok(UpdateDeadline::Continue(1));
        }
        self.release();
        let lane = (self.used > FAST_LANE).then(|| self.long_lane.clone());
        let (held, resumed_at) = (self.held.clone(), self.resumed_at.clone());
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                tokio::task::yield_now().await;
                if let Some(lane) = lane {
                    if let Ok(permit) = lane.acquire_owned().await {
                        *held.lock().unwrap_or_else(|e| e.into_inner()) = Some(permit);
                    }
                }
                *resumed_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            }),
        ))
    }

    /// The guest calls into the host (which may wait): charge what it ran, let go of the
    /// long lane.
    pub fn pause(&mut self) {
        let ran = self.take_ran(Instant::now());
        self.used += ran;
        self.release();
    }

    /// Back from the host: the guest runs again from now.
    pub fn resume(&mut self) {
        *self.resumed_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn release(&self) {
        drop(self.held.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}
