//! The request budget: at most `rate` requests per second per process (PVE's notes advise ~10 per
//! token), with a burst of the same size. Actions come first: a request that only asks how a task
//! is doing (`Priority::Poll`) waits while actions wait, so a bulk run spends the budget on its
//! actions and learns the tasks' ends in the gaps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// Whether a request is an action (or a read a user waits for) or a poll of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Priority {
    #[default]
    Normal,
    Poll,
}

pub(super) struct RateLimiter {
    rate: u32,
    /// Tokens (may go negative: a reservation) and when they were last counted.
    state: Mutex<(f64, Instant)>,
    /// Normal requests waiting for their turn.
    waiting: AtomicUsize,
}

impl RateLimiter {
    pub(super) fn new(rate: u32) -> Self {
        RateLimiter {
            rate,
            state: Mutex::new((rate as f64, Instant::now())),
            waiting: AtomicUsize::new(0),
        }
    }

    pub(super) async fn acquire(&self, priority: Priority) {
        if self.rate == 0 {
            return;
        }
        let period = Duration::from_secs_f64(1.0 / self.rate as f64);
        if priority == Priority::Poll {
            // A poll takes a token only when one is there and no action is waiting for it.
            loop {
                if self.waiting.load(Ordering::Relaxed) == 0 && self.take(false).await.is_some() {
                    return;
                }
                tokio::time::sleep(period).await;
            }
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let wait = self.take(true).await.unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.waiting.fetch_sub(1, Ordering::Relaxed);
    }

    /// Take a token: `reserve` goes into debt and says how long to wait; otherwise only a token
    /// that is there now is taken (`None` when there is none).
    async fn take(&self, reserve: bool) -> Option<Duration> {
        let mut st = self.state.lock().await;
        let rate = self.rate as f64;
        let now = Instant::now();
        let refill = now.duration_since(st.1).as_secs_f64() * rate;
        st.0 = (st.0 + refill).min(rate);
        st.1 = now;
        if !reserve && st.0 < 1.0 {
            return None;
        }
        st.0 -= 1.0;
        Some(if st.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-st.0 / rate)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_burst_then_the_rate_and_polls_after_actions() {
        let limiter = RateLimiter::new(10);
        let t0 = tokio::time::Instant::now();
        for _ in 0..10 {
            limiter.acquire(Priority::Normal).await;
        }
        assert!(t0.elapsed() < Duration::from_millis(5), "the burst is free");
        limiter.acquire(Priority::Normal).await;
        assert!(
            t0.elapsed() >= Duration::from_millis(95),
            "{:?}",
            t0.elapsed()
        );
        // With no token left, a poll waits for one to come.
        let t1 = tokio::time::Instant::now();
        limiter.acquire(Priority::Poll).await;
        assert!(
            t1.elapsed() >= Duration::from_millis(90),
            "{:?}",
            t1.elapsed()
        );
    }
}
