//! A campaign's calling window: a daily span of local time between a first and an optional
//! last date, read in each recipient's own zone.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::platform::error::{AppError, AppResult};

/// When a campaign may dial, in the recipient's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Dials start at or after this time of day …
    pub first: NaiveTime,
    /// … and not at or after this one.
    pub last: NaiveTime,
    pub start_date: NaiveDate,
    /// The last day with dials (inclusive).
    pub end_date: Option<NaiveDate>,
}

/// `HH:MM` (what `<input type="time">` sends; seconds are accepted and dropped).
pub fn parse_time(field: &'static str, raw: &str) -> AppResult<NaiveTime> {
    let raw = raw.trim();
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .map_err(|_| AppError::validation(field, "a time of day as HH:MM"))
}

impl Window {
    /// Checks the window makes sense: a span inside one day and an end on or after the start.
    pub fn new(
        first: NaiveTime,
        last: NaiveTime,
        start_date: NaiveDate,
        end_date: Option<NaiveDate>,
    ) -> AppResult<Window> {
        if first >= last {
            return Err(AppError::validation(
                "last_call_time",
                "the last call time must be after the first (a window cannot cross midnight)",
            ));
        }
        if end_date.is_some_and(|end| end < start_date) {
            return Err(AppError::validation(
                "end_date",
                "the end date cannot be before the start date",
            ));
        }
        Ok(Window {
            first,
            last,
            start_date,
            end_date,
        })
    }

    /// Whether `at` falls inside the window in `zone`.
    pub fn is_open(&self, zone: Tz, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&zone).naive_local();
        self.allows(local.date()) && local.time() >= self.first && local.time() < self.last
    }

    fn allows(&self, day: NaiveDate) -> bool {
        day >= self.start_date && self.end_date.is_none_or(|end| day <= end)
    }

    /// The first instant at or after `at` inside the window in `zone`; none once the end date
    /// has passed there.
    pub fn next_open(&self, zone: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(zone, at) {
            return Some(at);
        }
        let today = at.with_timezone(&zone).date_naive();
        let mut day = today.max(self.start_date);
        // A few days suffice: the first allowed day whose opening is still ahead.
        for _ in 0..400 {
            if self.end_date.is_some_and(|end| day > end) {
                return None;
            }
            // Today's opening may be behind `at` (its window closed): then tomorrow's.
            if let Some(opening) = opening_on(zone, day, self.first)
                && opening >= at
            {
                return Some(opening);
            }
            day = day.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// Whether no dial can happen at or after `at` in `zone` (the end date has passed there).
    pub fn is_over(&self, zone: Tz, at: DateTime<Utc>) -> bool {
        self.next_open(zone, at).is_none()
    }
}

/// `time` on `day` in `zone` as an instant. A time the clocks skip (spring forward) opens at the
/// first instant after the gap; a time that happens twice opens at the first.
fn opening_on(zone: Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let local = day.and_time(time);
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            // In a gap: step forward a minute at a time until the clocks exist again.
            (1..=180).find_map(|m| {
                zone.from_local_datetime(&(local + chrono::TimeDelta::minutes(m)))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(end: Option<&str>) -> Window {
        Window::new(
            parse_time("first_call_time", "09:00").unwrap(),
            parse_time("last_call_time", "17:00").unwrap(),
            "2026-03-06".parse().unwrap(),
            end.map(|e| e.parse().unwrap()),
        )
        .unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_window_is_read_in_the_recipients_zone() {
        let w = window(None);
        let instant = at("2026-03-10T15:00:00Z");
        // 11:00 in New York (daylight time since 8 March), 16:00 in Paris, midnight in Tokyo.
        assert!(w.is_open(chrono_tz::America::New_York, instant));
        assert!(w.is_open(chrono_tz::Europe::Paris, instant));
        assert!(!w.is_open(chrono_tz::Asia::Tokyo, instant));
        assert_eq!(
            w.next_open(chrono_tz::Asia::Tokyo, instant),
            Some(at("2026-03-11T00:00:00Z"))
        );
        // At 17:00 sharp the window has closed; it opens again the next morning.
        assert_eq!(
            w.next_open(chrono_tz::Europe::Paris, at("2026-03-10T16:00:00Z")),
            Some(at("2026-03-11T08:00:00Z"))
        );
    }

    #[test]
    fn days_before_the_start_and_after_the_end_are_skipped() {
        let w = window(Some("2026-03-10"));
        assert_eq!(
            w.next_open(chrono_tz::UTC, at("2026-03-01T12:00:00Z")),
            Some(at("2026-03-06T09:00:00Z"))
        );
        assert!(!w.is_over(chrono_tz::UTC, at("2026-03-10T16:59:00Z")));
        assert!(w.is_over(chrono_tz::UTC, at("2026-03-10T17:00:00Z")));
        // Still 16:00 on the 10th in Honolulu when it is already the 11th in UTC.
        assert!(w.is_open(chrono_tz::Pacific::Honolulu, at("2026-03-11T02:00:00Z")));
    }

    #[test]
    fn a_window_opening_in_a_skipped_hour_opens_after_the_gap() {
        let w = Window::new(
            parse_time("first_call_time", "02:30").unwrap(),
            parse_time("last_call_time", "05:00").unwrap(),
            "2026-03-08".parse().unwrap(),
            None,
        )
        .unwrap();
        // 02:30 does not exist in New York on 8 March 2026: 03:00 EDT is 07:00 UTC.
        assert_eq!(
            w.next_open(chrono_tz::America::New_York, at("2026-03-08T05:00:00Z")),
            Some(at("2026-03-08T07:00:00Z"))
        );
    }

    #[test]
    fn nonsense_windows_are_refused() {
        let nine = parse_time("first_call_time", "09:00").unwrap();
        let day: NaiveDate = "2026-03-06".parse().unwrap();
        assert!(Window::new(nine, nine, day, None).is_err());
        assert!(Window::new(nine, parse_time("x", "10:00").unwrap(), day, day.pred_opt()).is_err());
        assert!(parse_time("first_call_time", "25:00").is_err());
        assert_eq!(parse_time("first_call_time", "09:00:00").unwrap(), nine);
    }
}
