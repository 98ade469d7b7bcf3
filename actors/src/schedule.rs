//! Schedules as pure functions of time, and the clock the scheduler reads.
//!
//! Next fire times are computed by [`Schedule::next_after`] from a given
//! instant, so they can be checked across days and weeks without waiting.

use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;

use crate::jobs::JobKind;

/// Where the scheduler gets "now" from.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until set: for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// Sets the time (it may go backwards).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A schedule pattern that does not parse, or never fires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule {pattern:?} for {kind}: {reason}")]
pub struct ScheduleError {
    /// The job kind it was meant for.
    pub kind: JobKind,
    /// The pattern given.
    pub pattern: String,
    /// What is wrong.
    pub reason: String,
}

/// When one job kind runs: a cron pattern read in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The job it runs.
    pub kind: JobKind,
    /// The pattern as given (five fields: minute hour day-of-month month
    /// day-of-week; a sixth leading seconds field is accepted).
    pub pattern: String,
    /// The zone the pattern's wall-clock times are in.
    pub time_zone: Tz,
    cron: Cron,
}

impl Schedule {
    /// Parses `pattern` for `kind` in `time_zone`. A pattern that does not
    /// parse, or that never fires, is a [`ScheduleError`].
    pub fn new(kind: JobKind, pattern: &str, time_zone: Tz) -> Result<Schedule, ScheduleError> {
        let error = |reason: String| ScheduleError {
            kind,
            pattern: pattern.to_owned(),
            reason,
        };
        let cron = Cron::from_str(pattern).map_err(|e| error(e.to_string()))?;
        let schedule = Schedule {
            kind,
            pattern: pattern.to_owned(),
            time_zone,
            cron,
        };
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        if schedule.next_after(epoch).is_none() {
            return Err(error("it never fires".to_owned()));
        }
        Ok(schedule)
    }

    /// `kind`'s default schedule ([`JobKind::default_cron`]) in `time_zone`.
    pub fn default_for(kind: JobKind, time_zone: Tz) -> Schedule {
        match Schedule::new(kind, kind.default_cron(), time_zone) {
            Ok(s) => s,
            // The defaults are constants covered by tests.
            Err(e) => unreachable!("default schedule does not parse: {e}"),
        }
    }

    /// The six default schedules in `time_zone`, in [`JobKind::ALL`] order.
    pub fn defaults(time_zone: Tz) -> Vec<Schedule> {
        JobKind::ALL
            .into_iter()
            .map(|k| Schedule::default_for(k, time_zone))
            .collect()
    }

    /// The first fire time strictly after `after`, or `None` when there is
    /// none (croner searches a bounded number of years ahead).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.time_zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The fire times in `(from, to]`, in order, at most `limit` of them.
    pub fn fires_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = from;
        while out.len() < limit {
            match self.next_after(t) {
                Some(next) if next <= to => {
                    out.push(next);
                    t = next;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn default(kind: JobKind) -> Schedule {
        Schedule::default_for(kind, Tz::UTC)
    }

    #[test]
    fn every_30_and_15_minutes() {
        let sync = default(JobKind::ConnectorSync);
        assert_eq!(
            sync.next_after(utc(2026, 11, 23, 10, 0)),
            Some(utc(2026, 11, 23, 10, 30))
        );
        assert_eq!(
            sync.next_after(utc(2026, 11, 23, 23, 45)),
            Some(utc(2026, 11, 24, 0, 0))
        );
        let day = sync.fires_between(utc(2026, 11, 23, 0, 0), utc(2026, 11, 24, 0, 0), 1000);
        assert_eq!(day.len(), 48);
        let sentiment = default(JobKind::BrandSentiment);
        let hour = sentiment.fires_between(utc(2026, 11, 23, 9, 59), utc(2026, 11, 23, 11, 0), 100);
        assert_eq!(
            hour,
            vec![
                utc(2026, 11, 23, 10, 0),
                utc(2026, 11, 23, 10, 15),
                utc(2026, 11, 23, 10, 30),
                utc(2026, 11, 23, 10, 45),
                utc(2026, 11, 23, 11, 0)
            ]
        );
    }

    #[test]
    fn features_every_six_hours_and_daily_jobs() {
        let features = default(JobKind::Features);
        let fires = features.fires_between(utc(2026, 11, 23, 1, 0), utc(2026, 11, 24, 1, 0), 100);
        assert_eq!(
            fires,
            vec![
                utc(2026, 11, 23, 6, 0),
                utc(2026, 11, 23, 12, 0),
                utc(2026, 11, 23, 18, 0),
                utc(2026, 11, 24, 0, 0)
            ]
        );
        let churn = default(JobKind::Churn);
        assert_eq!(
            churn.next_after(utc(2026, 11, 23, 2, 0)),
            Some(utc(2026, 11, 24, 2, 0)),
            "strictly after: a fire at 02:00 is not repeated at 02:00"
        );
        assert_eq!(
            churn.next_after(utc(2026, 12, 31, 3, 0)),
            Some(utc(2027, 1, 1, 2, 0))
        );
        let drift = default(JobKind::Drift);
        assert_eq!(
            drift.next_after(utc(2026, 11, 23, 5, 59)),
            Some(utc(2026, 11, 23, 6, 0))
        );
    }

    #[test]
    fn weekly_report_on_mondays_at_eight() {
        let weekly = default(JobKind::WeeklyReport);
        // 2026-11-25 is a Wednesday.
        let fires = weekly.fires_between(utc(2026, 11, 25, 0, 0), utc(2026, 12, 31, 0, 0), 10);
        assert_eq!(
            fires,
            vec![
                utc(2026, 11, 30, 8, 0),
                utc(2026, 12, 7, 8, 0),
                utc(2026, 12, 14, 8, 0),
                utc(2026, 12, 21, 8, 0),
                utc(2026, 12, 28, 8, 0)
            ]
        );
        // Monday 07:59 -> the same morning; Monday 08:00 -> a week later.
        assert_eq!(
            weekly.next_after(utc(2026, 11, 30, 7, 59)),
            Some(utc(2026, 11, 30, 8, 0))
        );
        assert_eq!(
            weekly.next_after(utc(2026, 11, 30, 8, 0)),
            Some(utc(2026, 12, 7, 8, 0))
        );
    }

    #[test]
    fn time_zone_shifts_wall_clock_times_including_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let churn = Schedule::default_for(JobKind::Churn, berlin);
        // Winter (UTC+1): 02:00 Berlin is 01:00 UTC.
        assert_eq!(
            churn.next_after(utc(2026, 11, 23, 12, 0)),
            Some(utc(2026, 11, 24, 1, 0))
        );
        // Summer (UTC+2): 02:00 Berlin is 00:00 UTC.
        assert_eq!(
            churn.next_after(utc(2026, 7, 1, 12, 0)),
            Some(utc(2026, 7, 2, 0, 0))
        );
    }

    #[test]
    fn bad_patterns_are_refused_with_the_kind() {
        let err = Schedule::new(JobKind::Churn, "every day", Tz::UTC).unwrap_err();
        assert_eq!(err.kind, JobKind::Churn);
        assert!(err.to_string().contains("every day"), "{err}");
        assert!(Schedule::new(JobKind::Churn, "0 2 31 2 *", Tz::UTC).is_err());
    }

    #[test]
    fn moving_schedules_to_another_zone_keeps_their_patterns() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let options = crate::RuntimeOptions::default().with_time_zone(tokyo);
        assert_eq!(options.schedules.len(), 6);
        let churn = options
            .schedules
            .iter()
            .find(|s| s.kind == JobKind::Churn)
            .unwrap();
        assert_eq!(churn.pattern, "0 2 * * *");
        // 02:00 in Tokyo (UTC+9) is 17:00 UTC the day before.
        assert_eq!(
            churn.next_after(utc(2026, 11, 23, 12, 0)),
            Some(utc(2026, 11, 23, 17, 0))
        );
    }

    #[test]
    fn manual_clock_stands_still_until_set() {
        let clock = ManualClock::new(utc(2026, 1, 1, 0, 0));
        assert_eq!(clock.now(), utc(2026, 1, 1, 0, 0));
        clock.set(utc(2026, 1, 2, 0, 0));
        assert_eq!(clock.now(), utc(2026, 1, 2, 0, 0));
    }
}
