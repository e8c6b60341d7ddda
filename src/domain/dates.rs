//! Calendar helpers for the API's date vocabulary: ISO weeks (`2026-W03`) and months (`2026-01`).
use chrono::{Datelike, NaiveDate, Weekday};

/// An inclusive range of UTC days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Parses an ISO week such as `2026-W03` into its Monday..Sunday range.
pub fn parse_iso_week(input: &str) -> Result<DateRange, String> {
    let err = || format!("`{input}` is not an ISO week; use YYYY-Www, e.g. 2026-W03");
    let (year, week) = input.trim().split_once("-W").ok_or_else(err)?;
    if year.len() != 4 || week.len() != 2 {
        return Err(err());
    }
    let year: i32 = year.parse().map_err(|_| err())?;
    let week: u32 = week.parse().map_err(|_| err())?;
    let from = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(err)?;
    let to = NaiveDate::from_isoywd_opt(year, week, Weekday::Sun).ok_or_else(err)?;
    Ok(DateRange { from, to })
}

/// Parses a month such as `2026-01` into its first..last day range.
pub fn parse_month(input: &str) -> Result<DateRange, String> {
    let err = || format!("`{input}` is not a month; use YYYY-MM, e.g. 2026-01");
    let (year, month) = input.trim().split_once('-').ok_or_else(err)?;
    if year.len() != 4 || month.len() != 2 {
        return Err(err());
    }
    let year: i32 = year.parse().map_err(|_| err())?;
    let month: u32 = month.parse().map_err(|_| err())?;
    let from = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(err)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .ok_or_else(err)?;
    let to = next.pred_opt().ok_or_else(err)?;
    debug_assert_eq!(to.month(), month);
    Ok(DateRange { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn iso_weeks_cross_year_boundaries() {
        assert_eq!(
            parse_iso_week("2026-W01").unwrap(),
            DateRange {
                from: d("2025-12-29"),
                to: d("2026-01-04")
            }
        );
        assert_eq!(
            parse_iso_week("2026-W03").unwrap(),
            DateRange {
                from: d("2026-01-12"),
                to: d("2026-01-18")
            }
        );
        // 2026 starts on a Thursday, so it has a week 53; 2025 does not.
        assert_eq!(parse_iso_week("2026-W53").unwrap().to, d("2027-01-03"));
        assert!(parse_iso_week("2025-W53").unwrap_err().contains("ISO week"));
        for bad in [
            "2026-03", "2026-W3", "2026-W00", "W03", "2026W03", "abcd-W01",
        ] {
            assert!(parse_iso_week(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_know_their_lengths() {
        assert_eq!(
            parse_month("2024-02").unwrap(),
            DateRange {
                from: d("2024-02-01"),
                to: d("2024-02-29")
            }
        );
        assert_eq!(parse_month("2026-12").unwrap().to, d("2026-12-31"));
        for bad in [
            "2026-13",
            "2026-1",
            "2026",
            "2026-00",
            "26-01",
            "2026-01-01",
        ] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }
}
