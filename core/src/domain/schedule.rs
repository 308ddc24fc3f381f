//! Posting schedules: recurring slots ("weekdays at 9:00 and 17:30") in a brand's zone.

use crate::Invalid;
use chrono::{DateTime, Utc};
use std::str::FromStr;

use super::Zone;

/// A validated cron expression. People write the usual five fields
/// (`minute hour day-of-month month day-of-week`); six or seven fields (with seconds, and
/// optionally years) are accepted as the `cron` crate reads them.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    source: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    pub fn parse(expr: &str) -> Result<Self, Invalid> {
        let fields = expr.split_whitespace().count();
        let full = match fields {
            5 => format!("0 {expr}"),
            6 | 7 => expr.to_owned(),
            n => {
                return Err(Invalid::new(
                    "cron",
                    format!(
                        "{expr:?} has {n} fields; use 5 (minute hour day-of-month month day-of-week), e.g. \"0 9 * * Mon-Fri\""
                    ),
                ));
            }
        };
        let schedule = cron::Schedule::from_str(&full)
            .map_err(|e| Invalid::new("cron", format!("{expr:?} is not a valid cron expression: {e}")))?;
        Ok(Self {
            source: expr.trim().to_owned(),
            schedule,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The next `n` slots after `after`, evaluated on the wall clock of `zone`.
    pub fn next_slots(&self, zone: Zone, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.schedule
            .after(&after.with_timezone(&zone.tz()))
            .take(n)
            .map(|t| t.with_timezone(&Utc))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_field_cron_runs_on_local_wall_clock_across_dst() {
        let s = CronSchedule::parse("0 9 * * *").unwrap();
        let zone = Zone::parse("timezone", "Europe/Stockholm").unwrap();
        // Summer time ends on 2026-10-25 in Europe: 09:00 local is 07:00 UTC before, 08:00 after.
        let start = Utc.with_ymd_and_hms(2026, 10, 24, 12, 0, 0).unwrap();
        let slots = s.next_slots(zone, start, 2);
        assert_eq!(slots[0], Utc.with_ymd_and_hms(2026, 10, 25, 8, 0, 0).unwrap());
        assert_eq!(slots[1], Utc.with_ymd_and_hms(2026, 10, 26, 8, 0, 0).unwrap());
        let before = s.next_slots(zone, Utc.with_ymd_and_hms(2026, 10, 23, 12, 0, 0).unwrap(), 1);
        assert_eq!(before[0], Utc.with_ymd_and_hms(2026, 10, 24, 7, 0, 0).unwrap());
    }

    #[test]
    fn rejects_wrong_field_count_and_bad_values() {
        assert!(CronSchedule::parse("0 9 * *").unwrap_err().message.contains("4 fields"));
        assert!(CronSchedule::parse("0 25 * * *").is_err());
    }
}
