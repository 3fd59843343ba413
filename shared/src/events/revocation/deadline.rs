//! The invocation's deadline as the handler measures time: Lambda gives it as epoch
//! milliseconds (wall clock), [`handle`](crate::events::revocation::handle) stops on an
//! [`Instant`] (monotonic), so it is converted once, when the invocation starts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The invocation's deadline, `epoch_ms` milliseconds after the Unix epoch, as an `Instant`.
/// A deadline already passed is now (one page still runs: every invocation makes progress),
/// never "no deadline".
pub fn deadline(epoch_ms: u64) -> Instant {
    deadline_from(epoch_ms, SystemTime::now(), Instant::now())
}

/// [`deadline`] with the clocks read by the caller: `wall` and `now` are the same moment.
fn deadline_from(epoch_ms: u64, wall: SystemTime, now: Instant) -> Instant {
    let wall = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    now + Duration::from_millis(epoch_ms).saturating_sub(wall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_is_carried_from_the_wall_clock_to_the_monotonic_one() {
        let wall = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let now = Instant::now();
        assert_eq!(
            deadline_from(1_700_000_030_000, wall, now),
            now + Duration::from_secs(30)
        );
        assert_eq!(
            deadline_from(1_700_000_000_001, wall, now),
            now + Duration::from_millis(1)
        );
    }

    #[test]
    fn a_deadline_already_passed_is_now_not_none() {
        let wall = UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let now = Instant::now();
        assert_eq!(deadline_from(1_699_999_999_000, wall, now), now);
        assert_eq!(deadline_from(0, wall, now), now);
    }

    #[test]
    fn the_real_clocks_give_about_the_time_left() {
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        let epoch_ms = in_a_minute.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let left = deadline(epoch_ms).saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_secs(59) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }
}
