//! Posting schedules: recurring slots ("weekdays at 9:00 and 17:30") on a zone's wall clock.
//!
//! People write the usual five cron fields with POSIX meanings; the `cron` crate reads
//! Quartz syntax, so this module translates before it parses:
//!
//! - day-of-week numbers are POSIX: 0 and 7 are Sunday, 1 is Monday, 6 is Saturday (the
//!   crate numbers 1 = Sunday and refuses 0, so `1-5` would otherwise mean Sunday to
//!   Thursday). Every day-of-week item is expanded to day names before the crate sees it.
//! - when both day-of-month and day-of-week are restricted, a time matches when *either*
//!   does (`0 9 1 * Mon`: the 1st of each month and every Monday), as in every Unix cron.
//!
//! The crate's own handling of daylight-saving changes is not what people expect (a time in
//! a spring-forward gap is skipped; one in a fall-back fold fires twice), so slots are
//! found on the naive wall clock and turned into instants here: a time in a gap runs once
//! at the first valid instant after the gap, a time in a fold runs once at its first
//! occurrence.

use crate::Invalid;
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use std::collections::BTreeSet;
use std::str::FromStr;

use super::Zone;

/// A validated cron expression: five fields (`minute hour day-of-month month day-of-week`),
/// or six with a leading seconds field.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    source: String,
    /// One schedule, or two when day-of-month and day-of-week are both restricted (their
    /// union is the POSIX meaning).
    schedules: Vec<cron::Schedule>,
}

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl CronSchedule {
    pub fn parse(expr: &str) -> Result<Self, Invalid> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(Invalid::new(
                    "cron",
                    format!(
                        "{expr:?} has {n} fields; use 5 (minute hour day-of-month month day-of-week), e.g. \"0 9 * * 1-5\""
                    ),
                ));
            }
        };
        let [minute, hour, dom, month, dow] = [rest[0], rest[1], rest[2], rest[3], rest[4]];
        let days = posix_days(dow).map_err(|m| Invalid::new("cron", format!("{expr:?}: day-of-week {dow:?}: {m}")))?;
        let dom_restricted = !matches!(dom, "*" | "?");
        let dow_field = match &days {
            None => "*".to_owned(),
            Some(set) => set.iter().map(|&d| DAY_NAMES[d]).collect::<Vec<_>>().join(","),
        };
        let variants: Vec<(String, String)> = match (dom_restricted, days.is_some()) {
            (true, true) => vec![(dom.to_owned(), "*".to_owned()), ("*".to_owned(), dow_field)],
            _ => vec![(dom.to_owned(), dow_field)],
        };
        let schedules = variants
            .into_iter()
            .map(|(dom, dow)| {
                cron::Schedule::from_str(&format!("{seconds} {minute} {hour} {dom} {month} {dow}"))
                    .map_err(|e| Invalid::new("cron", format!("{expr:?} is not a valid cron expression: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            source: expr.split_whitespace().collect::<Vec<_>>().join(" "),
            schedules,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The next `n` slots strictly after `after`, on the wall clock of `zone`.
    pub fn next_slots(&self, zone: Zone, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        self.slots_after(zone, after).take(n).collect()
    }

    /// The slots strictly after `after`, in order, each instant once.
    pub fn slots_after(&self, zone: Zone, after: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let tz = zone.tz();
        // The crate is run on a clock without transitions (UTC) holding local wall times.
        let mut cursor = after.with_timezone(&tz).naive_local();
        let mut last = after;
        std::iter::from_fn(move || {
            loop {
                let wall = self
                    .schedules
                    .iter()
                    .filter_map(|s| s.after(&Utc.from_utc_datetime(&cursor)).next())
                    .min()?
                    .naive_utc();
                cursor = wall;
                let instant = wall_to_instant(tz, wall)?;
                if instant > last {
                    last = instant;
                    return Some(instant);
                }
            }
        })
    }
}

/// The instant a wall-clock time names: the first of two in a fold, the end of the gap for
/// one that does not exist.
fn wall_to_instant(tz: chrono_tz::Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // Gaps are at most a few hours; walk to the first wall minute that exists,
            // which is the instant the clocks jumped.
            let start = wall.with_second(0).unwrap_or(wall);
            (1..=24 * 60).find_map(|m| match tz.from_local_datetime(&(start + Duration::minutes(m))) {
                LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
                LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
                LocalResult::None => None,
            })
        }
    }
}

/// The POSIX days (0 = Sunday .. 6 = Saturday) a day-of-week field names; `None` for `*`.
fn posix_days(field: &str) -> Result<Option<BTreeSet<usize>>, String> {
    if matches!(field, "*" | "?") {
        return Ok(None);
    }
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: usize = s
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("step {s:?} in {item:?} is not a positive number"))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (from, to) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                // `5/2` means from Friday on, every other day, as in Vixie cron.
                None if step > 1 => (day(r)?, 6),
                None => {
                    let d = day(r)?;
                    (d, d)
                }
            },
        };
        // 7 is Sunday at the end of a range (`5-7`: Friday to Sunday).
        let to = if to == 0 && from > 0 { 7 } else { to };
        if from > to {
            return Err(format!(
                "the range {range:?} runs backwards; list it in two parts, e.g. \"5-7,0-1\" for Friday to Monday"
            ));
        }
        days.extend((from..=to).step_by(step).map(|d| d % 7));
    }
    Ok(Some(days))
}

/// One day: 0-7 (0 and 7 = Sunday) or a three-letter English name.
fn day(token: &str) -> Result<usize, String> {
    if let Ok(n) = token.parse::<usize>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(format!(
                "{n} is not a day; use 0-7 (0 and 7 are Sunday, 1 is Monday) or Sun-Sat"
            ))
        };
    }
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(token))
        .ok_or_else(|| {
            format!(
                "{token:?} is not a day; use 0-7 (0 and 7 are Sunday, 1 is Monday) or Sun, Mon, Tue, Wed, Thu, Fri, Sat"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};

    fn zone(name: &str) -> Zone {
        Zone::parse("timezone", name).unwrap()
    }
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn weekdays(expr: &str, n: usize) -> Vec<Weekday> {
        // 2026-12-06 is a Sunday.
        CronSchedule::parse(expr)
            .unwrap()
            .next_slots(Zone::UTC, utc(2026, 12, 5, 23, 0), n)
            .iter()
            .map(|t| t.weekday())
            .collect()
    }

    #[test]
    fn weekday_numbers_are_posix_zero_and_seven_are_sunday() {
        use Weekday::*;
        assert_eq!(weekdays("0 9 * * 1-5", 5), [Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(weekdays("0 9 * * 0", 2), [Sun, Sun]);
        assert_eq!(weekdays("0 9 * * 7", 2), [Sun, Sun]);
        assert_eq!(weekdays("0 9 * * 6,0", 3), [Sun, Sat, Sun]);
        assert_eq!(weekdays("0 9 * * 5-7", 3), [Sun, Fri, Sat]);
        assert_eq!(weekdays("0 9 * * */2", 4), [Sun, Tue, Thu, Sat]);
        assert_eq!(weekdays("0 9 * * 1-5/2", 3), [Mon, Wed, Fri]);
    }

    #[test]
    fn weekday_names_mean_the_same_days_as_their_numbers() {
        for (names, numbers) in [("Mon-Fri", "1-5"), ("sun", "0"), ("Sat,Sun", "6,7"), ("Fri-Sun", "5-7")] {
            assert_eq!(
                weekdays(&format!("30 8 * * {names}"), 7),
                weekdays(&format!("30 8 * * {numbers}"), 7),
                "{names} vs {numbers}"
            );
        }
    }

    #[test]
    fn day_of_month_and_day_of_week_together_match_either() {
        // The 1st of January 2027 is a Friday; Mondays are the 4th, 11th...
        let s = CronSchedule::parse("0 9 1 * 1").unwrap();
        let days: Vec<u32> = s
            .next_slots(Zone::UTC, utc(2026, 12, 31, 12, 0), 4)
            .iter()
            .map(|t| t.day())
            .collect();
        assert_eq!(days, [1, 4, 11, 18]);
    }

    #[test]
    fn bad_days_say_what_is_allowed() {
        for (expr, says) in [
            ("0 9 * * 8", "0-7"),
            ("0 9 * * Funday", "Sun, Mon"),
            ("0 9 * * 5-2", "backwards"),
            ("0 9 * * 1/0", "positive"),
        ] {
            let e = CronSchedule::parse(expr).unwrap_err();
            assert!(e.message.contains(says), "{expr}: {}", e.message);
        }
    }

    #[test]
    fn five_field_cron_runs_on_local_wall_clock_across_dst() {
        let s = CronSchedule::parse("0 9 * * *").unwrap();
        let zone = zone("Europe/Stockholm");
        // Summer time ends on 2026-10-25 in Europe: 09:00 local is 07:00 UTC before, 08:00 after.
        let slots = s.next_slots(zone, utc(2026, 10, 24, 12, 0), 2);
        assert_eq!(slots, [utc(2026, 10, 25, 8, 0), utc(2026, 10, 26, 8, 0)]);
        let before = s.next_slots(zone, utc(2026, 10, 23, 12, 0), 1);
        assert_eq!(before, [utc(2026, 10, 24, 7, 0)]);
    }

    #[test]
    fn a_time_in_the_spring_forward_gap_runs_once_when_the_gap_ends() {
        // Stockholm: 2026-03-29 02:00 -> 03:00 (01:00 UTC). New York: 2026-03-08 02:00 -> 03:00 (07:00 UTC).
        for (name, day, gap_end) in [
            ("Europe/Stockholm", utc(2026, 3, 27, 12, 0), utc(2026, 3, 29, 1, 0)),
            ("America/New_York", utc(2026, 3, 6, 12, 0), utc(2026, 3, 8, 7, 0)),
        ] {
            let s = CronSchedule::parse("30 2 * * 0-6").unwrap();
            let slots = s.next_slots(zone(name), day, 3);
            let local: Vec<(u32, u32)> = slots
                .iter()
                .map(|t| {
                    let l = t.with_timezone(&zone(name).tz());
                    (l.hour(), l.minute())
                })
                .collect();
            assert_eq!(slots[1], gap_end, "{name}: {slots:?}");
            assert_eq!(local, [(2, 30), (3, 0), (2, 30)], "{name}");
            // Every wall time inside the gap (02:00, 02:15, 02:45) runs once, at the same instant.
            let quarter = CronSchedule::parse("*/15 2 * * *").unwrap();
            let in_gap: Vec<_> = quarter
                .next_slots(zone(name), gap_end - Duration::hours(2), 10)
                .into_iter()
                .filter(|t| (gap_end - Duration::hours(1)..=gap_end).contains(t))
                .collect();
            assert_eq!(in_gap, [gap_end], "{name}");
        }
    }

    #[test]
    fn a_time_in_the_fall_back_fold_runs_once_at_its_first_occurrence() {
        // Stockholm: 2026-10-25 03:00 -> 02:00, so 02:30 happens at 00:30 and 01:30 UTC.
        // New York: 2026-11-01 02:00 -> 01:00, so 01:30 happens at 05:30 and 06:30 UTC.
        for (name, expr, start, first) in [
            (
                "Europe/Stockholm",
                "30 2 * * 1-7",
                utc(2026, 10, 24, 12, 0),
                utc(2026, 10, 25, 0, 30),
            ),
            (
                "America/New_York",
                "30 1 * * 0-6",
                utc(2026, 10, 31, 12, 0),
                utc(2026, 11, 1, 5, 30),
            ),
        ] {
            let s = CronSchedule::parse(expr).unwrap();
            let slots = s.next_slots(zone(name), start, 2);
            assert_eq!(slots[0], first, "{name}");
            assert_eq!(
                slots[1] - slots[0],
                Duration::hours(25),
                "{name}: the next run is the next day"
            );
            // Asked from inside the fold (between the two occurrences), it does not run again.
            let inside = s.next_slots(zone(name), first + Duration::minutes(45), 1);
            assert_eq!(inside[0], slots[1], "{name}");
        }
    }

    #[test]
    fn weekday_ranges_hold_across_both_changes() {
        // Weekdays at 09:00 in New York across the March change: Friday, Monday, Tuesday.
        let s = CronSchedule::parse("0 9 * * 1-5").unwrap();
        let ny = zone("America/New_York");
        let slots = s.next_slots(ny, utc(2026, 3, 6, 0, 0), 3);
        assert_eq!(
            slots,
            [utc(2026, 3, 6, 14, 0), utc(2026, 3, 9, 13, 0), utc(2026, 3, 10, 13, 0)]
        );
        let stockholm = zone("Europe/Stockholm");
        let slots = s.next_slots(stockholm, utc(2026, 10, 23, 0, 0), 2);
        assert_eq!(slots, [utc(2026, 10, 23, 7, 0), utc(2026, 10, 26, 8, 0)]);
    }

    #[test]
    fn rejects_wrong_field_count_and_bad_values() {
        assert!(CronSchedule::parse("0 9 * *").unwrap_err().message.contains("4 fields"));
        assert!(CronSchedule::parse("0 25 * * *").is_err());
    }
}
