//! Slows down password guessing: after too many failed logins for one email, further attempts
//! are refused for a while. Kept in memory per process (a restart forgets it); with several
//! processes each one counts on its own, which still bounds guessing to a small multiple.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Failed attempts allowed per email within `WINDOW`.
pub const MAX_FAILURES: u32 = 10;

/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed-login counters by normalized email.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LoginThrottle {
    /// Counts a login attempt for `email` before its password is checked; false (and nothing
    /// counted) when the email has had [`MAX_FAILURES`] within [`WINDOW`]. Checking and counting
    /// are one step under one lock, so parallel attempts cannot all see the old count: the
    /// eleventh of eleven at once is refused. A success clears the count
    /// ([`record_success`](Self::record_success)); a failure leaves it counted.
    pub fn begin(&self, email: &str) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old entries so the map cannot grow without bound.
        if failures.len() > 10_000 {
            failures.retain(|_, (since, _)| since.elapsed() <= WINDOW);
        }
        let key = email.trim().to_lowercase();
        let entry = failures.entry(key).or_insert((Instant::now(), 0));
        if entry.0.elapsed() > WINDOW {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= MAX_FAILURES {
            return false;
        }
        entry.1 += 1;
        if entry.1 == MAX_FAILURES {
            // Short (the window) and logged, so an owner locked out by someone else's guessing
            // knows why and for how long; the per-client limit stops one guesser before this.
            tracing::warn!(
                minutes = WINDOW.as_secs() / 60,
                "login paused for an email after {MAX_FAILURES} attempts"
            );
        }
        true
    }

    /// Clears the count after a successful login.
    pub fn record_success(&self, email: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&email.trim().to_lowercase());
    }
}

/// Bounds the password hashes (argon2id, about 19 MiB and tens of milliseconds each) running at
/// once to the machine's cores, with a short queue behind them; a login past the queue is
/// refused at once (429) instead of waiting, so a flood of logins costs bounded memory and CPU.
#[derive(Debug)]
pub struct PasswordHashing {
    queue: tokio::sync::Semaphore,
    running: tokio::sync::Semaphore,
}

/// Logins that may wait for a hashing slot, per core.
pub const HASH_QUEUE_PER_CORE: usize = 4;

impl Default for PasswordHashing {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores)
    }
}

impl PasswordHashing {
    /// `slots` hashes at once, and `slots * HASH_QUEUE_PER_CORE` more waiting.
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(1);
        Self {
            queue: tokio::sync::Semaphore::new(slots * (1 + HASH_QUEUE_PER_CORE)),
            running: tokio::sync::Semaphore::new(slots),
        }
    }

    /// Runs `hash` on the blocking pool when a slot is free; `RateLimited` at once when the
    /// queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        hash: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, crate::error::AppError> {
        use crate::error::AppError;
        let Ok(_queued) = self.queue.try_acquire() else {
            tracing::warn!("refused a login: every password hashing slot is busy");
            return Err(AppError::RateLimited);
        };
        let _running = self
            .running
            .acquire()
            .await
            .map_err(|e| AppError::internal("throttle::PasswordHashing", e))?;
        tokio::task::spawn_blocking(hash)
            .await
            .map_err(|e| AppError::internal("throttle::PasswordHashing join", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_attempt_without_a_success_is_refused_and_success_resets() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.begin("A@example.com"));
        }
        assert!(!throttle.begin("a@example.com"));
        assert!(
            throttle.begin("b@example.com"),
            "other accounts are not affected"
        );
        throttle.record_success("a@example.com");
        assert!(throttle.begin("a@example.com"));
    }

    #[test]
    fn parallel_attempts_cannot_all_see_the_old_count() {
        let throttle = std::sync::Arc::new(LoginThrottle::default());
        let admitted: usize = (0..4 * MAX_FAILURES)
            .map(|_| {
                let throttle = throttle.clone();
                std::thread::spawn(move || throttle.begin("race@example.com"))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| usize::from(t.join().unwrap()))
            .sum();
        assert_eq!(admitted, MAX_FAILURES as usize);
    }

    #[tokio::test]
    async fn hashes_past_the_queue_are_refused_at_once() {
        let hashing = std::sync::Arc::new(PasswordHashing::new(1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
        let mut held = Vec::new();
        for _ in 0..(1 + HASH_QUEUE_PER_CORE) {
            let (hashing, wait) = (hashing.clone(), wait.clone());
            held.push(tokio::spawn(async move {
                hashing
                    .run(move || {
                        let _ = wait.lock().unwrap().recv();
                    })
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            hashing.run(|| ()).await,
            Err(crate::error::AppError::RateLimited)
        ));
        for _ in 0..held.len() {
            release.send(()).unwrap();
        }
        for h in held {
            assert!(h.await.unwrap().is_ok());
        }
        assert!(
            hashing.run(|| ()).await.is_ok(),
            "free again once they are done"
        );
    }
}

/// Counts attempts per key (an email, a client address) in a fixed window and refuses past a
/// limit: the portal's sign-in and join forms, which send email. In memory per process, like
/// [`LoginThrottle`].
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `limit` attempts per key per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `key`; false when the key is over its limit.
    pub fn attempt(&self, key: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        // Forget old entries so the map cannot grow without bound.
        if seen.len() > 10_000 {
            seen.retain(|_, (since, _)| since.elapsed() <= window);
        }
        let entry = seen.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() > window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }

    /// Gives back one attempt of `key` (a login that succeeded): what the limit counts is then
    /// the failures, so people who type their password right are never held back.
    pub fn refund(&self, key: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = seen.get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn a_key_over_its_limit_is_refused_and_others_are_not() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.attempt("a"));
        assert!(limiter.attempt("a"));
        assert!(!limiter.attempt("a"));
        assert!(limiter.attempt("b"));
    }
}

/// Per-key token buckets: each key (a client address) may make `per_minute` requests a minute
/// on average and a burst of as many, refilled continuously. In memory per process. Refusals
/// are counted for the admin's numbers.
#[derive(Debug)]
pub struct TokenBuckets {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    refused: AtomicU64,
}

impl TokenBuckets {
    /// Buckets of `per_minute` tokens; 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        }
    }

    /// Takes a token for `key`; `Err(seconds)` when its bucket is empty, with how long until the
    /// next token.
    pub fn take(&self, key: IpAddr) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Full buckets hold nothing worth keeping: forget them, so a flood from many addresses
        // cannot grow the map without bound.
        if buckets.len() > 50_000 {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < capacity
            });
        }
        let (tokens, at) = buckets.entry(key).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Err(((1.0 - *tokens) / per_second).ceil().max(1.0) as u64)
        }
    }

    /// Requests refused since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}
