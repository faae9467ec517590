//! Retrying a delivery within a time budget: after [`Error::Throttled`] wait what the service
//! asked; after [`Error::Unavailable`] back off exponentially with full jitter; never start a
//! wait that would end past the deadline (the Lambda's remaining time), and never retry an
//! error that will not pass ([`Error::Rejected`], [`Error::Corrupt`]).

use std::future::Future;
use std::time::{Duration, Instant};

use crate::Error;

/// The backoff before retry `n` (0-based) after a transient error: a random wait up to
/// `base × 2ⁿ`, capped at `cap` ("full jitter", so concurrent senders spread out).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(200), cap: Duration::from_secs(8) }
    }
}

impl Backoff {
    /// The longest wait before retry `n`.
    pub fn ceiling(&self, n: u32) -> Duration {
        self.base.saturating_mul(1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX)).min(self.cap)
    }

    /// A random wait before retry `n`, between zero and [`Backoff::ceiling`].
    pub fn wait(&self, n: u32) -> Duration {
        let ceiling = self.ceiling(n).as_millis() as u64;
        Duration::from_millis(fastrand::u64(0..=ceiling))
    }
}

/// How long a 429 response asks the caller to wait: its `Retry-After` in seconds (1 s when
/// absent or not a number of seconds; at most an hour).
pub fn retry_after(response: &reqwest::Response) -> Duration {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1);
    Duration::from_secs(seconds.min(3600))
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempts {
    /// How many attempts were made.
    pub made: u32,
    /// The total time spent waiting between them.
    pub waited: Duration,
}

/// Runs `attempt` until it succeeds, fails permanently, or the next wait would end after
/// `deadline`. Returns the attempts made, or the last error with them.
pub async fn with_retries<F, Fut>(
    deadline: Instant,
    backoff: Backoff,
    mut attempt: F,
) -> Result<Attempts, (Error, Attempts)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let mut done = Attempts { made: 0, waited: Duration::ZERO };
    loop {
        let result = attempt().await;
        done.made += 1;
        let error = match result {
            Ok(()) => return Ok(done),
            Err(e) => e,
        };
        let wait = match &error {
            Error::Throttled { retry_after, .. } => *retry_after,
            Error::Unavailable { .. } => backoff.wait(done.made - 1),
            Error::Rejected { .. } | Error::Corrupt(_) => return Err((error, done)),
        };
        if Instant::now() + wait >= deadline {
            return Err((error, done));
        }
        tracing::warn!(error = %error, wait_ms = wait.as_millis() as u64, attempt = done.made, "delivery failed; retrying");
        tokio::time::sleep(wait).await;
        done.waited += wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn script(errors: Vec<Error>) -> Mutex<std::collections::VecDeque<Error>> {
        Mutex::new(errors.into())
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_below_it() {
        let b = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(1) };
        let ceilings: Vec<u128> = (0..6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(1));
        assert!((0..100).all(|_| b.wait(3) <= Duration::from_millis(800)));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_waits_what_the_service_asked_then_succeeds() {
        let errors = script(vec![
            Error::Throttled { service: "test", retry_after: Duration::from_secs(2) },
            Error::Unavailable { service: "test", detail: "503".into() },
        ]);
        let deadline = Instant::now() + Duration::from_secs(60);
        let done = with_retries(deadline, Backoff::default(), || {
            let next = errors.lock().unwrap().pop_front();
            async move { next.map_or(Ok(()), Err) }
        })
        .await
        .unwrap();
        assert_eq!(done.made, 3);
        assert!(done.waited >= Duration::from_secs(2), "{done:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_is_not_retried() {
        let calls = Mutex::new(0);
        let deadline = Instant::now() + Duration::from_secs(60);
        let (err, done) = with_retries(deadline, Backoff::default(), || {
            *calls.lock().unwrap() += 1;
            async { Err(Error::Rejected { service: "test", detail: "channel_not_found".into() }) }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Rejected { .. }));
        assert_eq!((done.made, *calls.lock().unwrap()), (1, 1));
    }

    #[tokio::test]
    async fn no_wait_is_started_that_would_end_past_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(3);
        let started = Instant::now();
        let (err, done) = with_retries(deadline, Backoff::default(), || async {
            Err(Error::Throttled { service: "test", retry_after: Duration::from_secs(30) })
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Throttled { .. }));
        assert_eq!(done.made, 1, "a 30 s Retry-After does not fit in 3 s: give up at once");
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
