//! Slows down password guessing: after too many failed logins for one email, further attempts
//! are refused for a while. Kept in memory per process (a restart forgets it); with several
//! processes each one counts on its own, which still bounds guessing to a small multiple.

use std::{
    collections::HashMap,
    sync::Mutex,
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
    /// Whether `email` may try to log in now.
    pub fn allows(&self, email: &str) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(&email.trim().to_lowercase()) {
            Some((since, n)) => since.elapsed() > WINDOW || *n < MAX_FAILURES,
            None => true,
        }
    }

    /// Counts a failed attempt.
    pub fn record_failure(&self, email: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old entries so the map cannot grow without bound.
        failures.retain(|_, (since, _)| since.elapsed() <= WINDOW);
        let entry = failures
            .entry(email.trim().to_lowercase())
            .or_insert((Instant::now(), 0));
        entry.1 += 1;
    }

    /// Clears the count after a successful login.
    pub fn record_success(&self, email: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&email.trim().to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_failure_in_a_row_is_refused_and_success_resets() {
        let throttle = LoginThrottle::default();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.allows("A@example.com"));
            throttle.record_failure("a@example.com");
        }
        assert!(!throttle.allows("a@example.com"));
        assert!(
            throttle.allows("b@example.com"),
            "other accounts are not affected"
        );
        throttle.record_success("a@example.com");
        assert!(throttle.allows("a@example.com"));
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
