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
