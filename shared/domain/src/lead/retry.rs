//! The optimistic loop of every use case that changes stored state: read, decide,
//! commit with the version read as the condition, and on `Saved::Conflict` read and
//! decide again, after a jittered back-off so consumers racing for one hot lead spread
//! out instead of colliding again. One helper, so the limit and the back-off are the
//! same everywhere:
//!
//! ```ignore
//! let mut attempts = Attempts::new();
//! while attempts.next_attempt().await {
//!     let lead = store.get_lead(id).await?;   // read
//!     let commit = decide(&lead);             // decide
//!     match store.commit(&commit).await? {    // commit
//!         Saved::Saved => return Ok(done),
//!         Saved::Conflict => continue,        // someone moved first: again
//!     }
//! }
//! Err(Contended)
//! ```

/// Write conflicts a use case tolerates before it gives up (a queue message then goes
/// back to its queue and is retried later).
pub const MAX_ATTEMPTS: u32 = 10;

/// The attempts of one optimistic loop.
#[derive(Debug, Clone)]
pub struct Attempts {
    made: u32,
    max: u32,
}

impl Default for Attempts {
    fn default() -> Self {
        Self::up_to(MAX_ATTEMPTS)
    }
}

impl Attempts {
    /// Up to [`MAX_ATTEMPTS`].
    pub fn new() -> Self {
        Self::default()
    }

    pub fn up_to(max: u32) -> Self {
        Self { made: 0, max }
    }

    /// Whether to make another attempt; waits out the back-off before every attempt but
    /// the first.
    pub async fn next_attempt(&mut self) -> bool {
        if self.made >= self.max {
            return false;
        }
        if self.made > 0 {
            back_off(self.made).await;
        }
        self.made += 1;
        true
    }

    /// Attempts made so far.
    pub fn made(&self) -> u32 {
        self.made
    }
}

/// Before retry `attempt` (1, 2, …): full jitter over 5 ms · 2^attempt, capped at 640 ms.
async fn back_off(attempt: u32) {
    let ceiling_ms = 5u64 << attempt.min(7);
    let jitter = (ulid::Ulid::new().random() % u128::from(ceiling_ms)) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn attempts_stop_at_the_limit() {
        let mut attempts = Attempts::up_to(3);
        let mut n = 0;
        while attempts.next_attempt().await {
            n += 1;
        }
        assert_eq!((n, attempts.made()), (3, 3));
        assert!(!attempts.next_attempt().await, "no attempt after the last");
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_attempt_does_not_wait_and_retries_do() {
        let start = tokio::time::Instant::now();
        let mut attempts = Attempts::new();
        assert!(attempts.next_attempt().await);
        assert_eq!(start.elapsed(), std::time::Duration::ZERO);
        for _ in 1..MAX_ATTEMPTS {
            assert!(attempts.next_attempt().await);
        }
        // Every retry waits less than its ceiling: at most 10 + 20 + … + 640 × 3 ms.
        assert!(start.elapsed() <= std::time::Duration::from_millis(10 + 20 + 40 + 80 + 160 + 320 + 640 * 3));
    }
}
