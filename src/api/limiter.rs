//! The request budget: at most `rate` requests per second per process (PVE's notes advise ~10 per
//! token), with a burst of the same size.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// At most `rate` requests per second, with a burst of the same size.
pub(super) struct RateLimiter {
    rate: u32,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub(super) fn new(rate: u32) -> Self {
        RateLimiter {
            rate,
            state: Mutex::new((rate as f64, Instant::now())),
        }
    }

    pub(super) async fn acquire(&self) {
        if self.rate == 0 {
            return;
        }
        let wait = {
            let mut st = self.state.lock().await;
            let rate = self.rate as f64;
            let now = Instant::now();
            let refill = now.duration_since(st.1).as_secs_f64() * rate;
            st.0 = (st.0 + refill).min(rate);
            st.1 = now;
            st.0 -= 1.0;
            if st.0 >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-st.0 / rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}
