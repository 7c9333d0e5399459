//! The period a dashboard covers, in the user's time zone: whole local days, turned into the
//! UTC instants the hourly counters are keyed by. Zones whose offset is not a whole number of
//! hours (India, Nepal, parts of Australia) are aligned to the UTC hour holding local midnight,
//! because the counters are hourly.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::rollups::hour_of;
use crate::platform::error::{AppError, AppResult};

/// The longest custom period, in days.
pub const MAX_DAYS: u64 = 366;
/// Periods up to this many days are charted per hour unless asked otherwise.
const HOURLY_UP_TO_DAYS: u64 = 2;
/// The longest period that may be charted per hour.
const MAX_HOURLY_DAYS: u64 = 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodName {
    Today,
    Days7,
    Days30,
    Days90,
    Custom,
}

impl PeriodName {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodName::Today => "today",
            PeriodName::Days7 => "7d",
            PeriodName::Days30 => "30d",
            PeriodName::Days90 => "90d",
            PeriodName::Custom => "custom",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Period {
    pub name: PeriodName,
    pub tz: Tz,
    /// First and last local day, inclusive.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// The UTC instants the period spans: `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One point of a chart: its label in the user's zone and the UTC instant it starts at.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub label: String,
    pub start: DateTime<Utc>,
}

pub fn parse_tz(name: &str) -> AppResult<Tz> {
    name.parse::<Tz>().map_err(|_| {
        AppError::validation("tz", "must be an IANA time zone name such as Europe/Berlin")
    })
}

/// Local midnight of `day` as a UTC instant, on the hour the counters use. A midnight skipped
/// by a DST change starts the day at the first instant that exists.
fn start_of(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let instant = tz
        .from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + TimeDelta::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc());
    hour_of(instant)
}

impl Period {
    /// The named period ending today (local), or the custom days `from..=to`.
    pub fn resolve(
        name: PeriodName,
        custom: (Option<NaiveDate>, Option<NaiveDate>),
        tz: Tz,
        now: DateTime<Utc>,
    ) -> AppResult<Period> {
        let today = now.with_timezone(&tz).date_naive();
        let back = |days: u64| today.checked_sub_days(Days::new(days)).unwrap_or(today);
        let (first, last) = match name {
            PeriodName::Today => (today, today),
            PeriodName::Days7 => (back(6), today),
            PeriodName::Days30 => (back(29), today),
            PeriodName::Days90 => (back(89), today),
            PeriodName::Custom => match custom {
                (Some(from), Some(to)) => (from, to),
                (None, _) => {
                    return Err(AppError::validation("from", "is required for `custom`"));
                }
                (_, None) => return Err(AppError::validation("to", "is required for `custom`")),
            },
        };
        if first > last {
            return Err(AppError::validation("from", "must not be after `to`"));
        }
        if (last - first).num_days() as u64 >= MAX_DAYS {
            return Err(AppError::validation(
                "to",
                format!("the period may span at most {MAX_DAYS} days"),
            ));
        }
        Ok(Period::of_days(name, tz, first, last))
    }

    fn of_days(name: PeriodName, tz: Tz, first_day: NaiveDate, last_day: NaiveDate) -> Period {
        let after = last_day.succ_opt().unwrap_or(last_day);
        Period {
            name,
            tz,
            first_day,
            last_day,
            from: start_of(tz, first_day),
            to: start_of(tz, after),
        }
    }

    pub fn days(&self) -> u64 {
        (self.last_day - self.first_day).num_days() as u64 + 1
    }

    /// The same number of days just before this period.
    pub fn previous(&self) -> Period {
        let days = Days::new(self.days());
        let first = self
            .first_day
            .checked_sub_days(days)
            .unwrap_or(self.first_day);
        let last = self.first_day.pred_opt().unwrap_or(self.first_day);
        Period::of_days(self.name, self.tz, first, last)
    }

    /// Hourly for short periods, daily otherwise; an explicit choice is honoured when the
    /// chart stays a sensible size.
    pub fn granularity(&self, asked: Option<Granularity>) -> AppResult<Granularity> {
        match asked {
            Some(Granularity::Hour) if self.days() > MAX_HOURLY_DAYS => Err(AppError::validation(
                "granularity",
                format!("hourly charts cover at most {MAX_HOURLY_DAYS} days"),
            )),
            Some(g) => Ok(g),
            None if self.days() <= HOURLY_UP_TO_DAYS => Ok(Granularity::Hour),
            None => Ok(Granularity::Day),
        }
    }

    /// The chart's points, in order.
    pub fn buckets(&self, granularity: Granularity) -> Vec<Bucket> {
        match granularity {
            Granularity::Day => self
                .first_day
                .iter_days()
                .take(self.days() as usize)
                .map(|day| Bucket {
                    label: day.format("%Y-%m-%d").to_string(),
                    start: start_of(self.tz, day),
                })
                .collect(),
            Granularity::Hour => {
                let hours = (self.to - self.from).num_hours().max(0);
                (0..hours)
                    .map(|h| {
                        let start = self.from + TimeDelta::hours(h);
                        Bucket {
                            label: start
                                .with_timezone(&self.tz)
                                .format("%Y-%m-%dT%H:%M")
                                .to_string(),
                            start,
                        }
                    })
                    .collect()
            }
        }
    }

    /// Which bucket an hour of counters falls in.
    pub fn bucket_of(&self, granularity: Granularity, hour: DateTime<Utc>) -> Option<usize> {
        if hour < self.from || hour >= self.to {
            return None;
        }
        match granularity {
            Granularity::Hour => usize::try_from((hour - self.from).num_hours()).ok(),
            Granularity::Day => {
                let day = hour.with_timezone(&self.tz).date_naive();
                usize::try_from((day - self.first_day).num_days())
                    .ok()
                    .filter(|i| (*i as u64) < self.days())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn seven_days_end_today_in_the_users_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 02:00 UTC on the 26th is still the 25th in New York.
        let p = Period::resolve(
            PeriodName::Days7,
            (None, None),
            tz,
            at("2026-11-26T02:00:00Z"),
        )
        .unwrap();
        assert_eq!(p.last_day.to_string(), "2026-11-25");
        assert_eq!(p.first_day.to_string(), "2026-11-19");
        assert_eq!(p.from, at("2026-11-19T05:00:00Z"));
        assert_eq!(p.to, at("2026-11-26T05:00:00Z"));
        let prev = p.previous();
        assert_eq!(prev.first_day.to_string(), "2026-11-12");
        assert_eq!(prev.to, p.from);
    }

    #[test]
    fn a_day_across_a_dst_change_has_its_real_length() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let p =
            Period::resolve(PeriodName::Custom, (Some(day), Some(day)), tz, Utc::now()).unwrap();
        assert_eq!(p.to - p.from, TimeDelta::hours(25));
        assert_eq!(p.buckets(Granularity::Hour).len(), 25);
        assert_eq!(
            p.bucket_of(Granularity::Day, p.to - TimeDelta::hours(1)),
            Some(0)
        );
    }

    #[test]
    fn bad_periods_are_refused() {
        let tz = Tz::UTC;
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        for custom in [
            (d("2026-02-01"), d("2026-01-01")),
            (d("2024-01-01"), d("2026-01-01")),
            (None, d("2026-01-01")),
        ] {
            assert!(Period::resolve(PeriodName::Custom, custom, tz, Utc::now()).is_err());
        }
        let p = Period::resolve(PeriodName::Days90, (None, None), tz, Utc::now()).unwrap();
        assert!(p.granularity(Some(Granularity::Hour)).is_err());
        assert_eq!(p.granularity(None).unwrap(), Granularity::Day);
    }
}
