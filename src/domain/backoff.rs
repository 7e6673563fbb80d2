//! Waits between retries that double from a first step up to a cap: the one backoff of the
//! broker reconnects (ingest, the gateway), the wait for the store at start and the writer's
//! retries of a batch the store refused.

use std::time::Duration;

/// Doubling waits: `first`, `2·first`, … up to `max`, until [`Backoff::reset`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Waits from `first` up to `max` (a `max` below `first` caps `first` too).
    pub fn new(first: Duration, max: Duration) -> Self {
        let first = first.min(max);
        Self {
            first,
            max,
            next: first,
        }
    }

    /// The wait to use now; the next one is twice as long, up to the cap.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// After a success: the next wait is the first step again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_to_the_cap_and_reset_to_the_first() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(250), ms(1500));
        let waits: Vec<Duration> = (0..5).map(|_| b.next_wait()).collect();
        assert_eq!(waits, [ms(250), ms(500), ms(1000), ms(1500), ms(1500)]);
        b.reset();
        assert_eq!(b.next_wait(), ms(250));
        // A cap below the first step caps the first step too.
        let mut low = Backoff::new(ms(250), ms(100));
        assert_eq!((low.next_wait(), low.next_wait()), (ms(100), ms(100)));
    }
}
