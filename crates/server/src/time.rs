//! The server's clock: UTC day numbers (days since 1970-01-01), as in the core; contribution
//! windows are counted in them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970 (0 if the system clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Today's UTC day number.
pub fn today() -> u32 {
    kindred_core::epoch_of(now_ms())
}

/// `YYYY-MM-DD` of a UTC day number (proleptic Gregorian calendar), for humans and the
/// dashboard.
pub fn date_of(epoch: u32) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = i64::from(epoch) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days in a month of the proleptic Gregorian calendar (`month` 1 to 12).
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, the inverse of [`date_of`] (Howard
/// Hinnant's days-from-civil algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110) for `Last-Modified`.
pub fn http_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let epoch = kindred_core::epoch_of(ms);
    let date = date_of(epoch);
    let (year, rest) = date.split_at(4);
    let month: usize = rest[1..3].parse().unwrap_or(1);
    let day = &rest[4..6];
    let t = ms.max(0) % kindred_core::DAY_MS / 1000;
    format!(
        "{}, {day} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[(epoch % 7) as usize],
        MONTHS[month.clamp(1, 12) - 1],
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil_inverts_date_of() {
        for epoch in [0u32, 59, 60, 11_016, 15_256, 20_000, 2_932_896] {
            let date = date_of(epoch);
            let part = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
            let (y, m, d) = (
                part(0..date.len() - 6),
                part(date.len() - 5..date.len() - 3),
                part(date.len() - 2..date.len()),
            );
            assert_eq!(days_from_civil(y, m, d), i64::from(epoch), "{date}");
            assert!(d <= days_in_month(y, m));
        }
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
    }

    #[test]
    fn dates_of_known_epochs() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(11_016), "2000-02-29");
        assert_eq!(date_of(20_415), "2025-11-23");
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
