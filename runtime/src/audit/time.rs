//! Record timestamps: RFC 3339 in UTC, without a time zone database.

/// Days since 1970-01-01 to a proleptic Gregorian date (the usual
/// era-of-400-years arithmetic).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A record's time, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, built on the stack:
/// every record takes one.
pub(super) struct Timestamp([u8; 27]);

impl Timestamp {
    pub(super) fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The time `secs` and `micros` after the epoch, in UTC (a year past 9999
/// is written as 9999).
pub(super) fn rfc3339(secs: i64, micros: u32) -> Timestamp {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0..4, year.clamp(0, 9999)),
        (5..7, month.into()),
        (8..10, day.into()),
        (11..13, rem / 3600),
        (14..16, rem % 3600 / 60),
        (17..19, rem % 60),
        (20..26, micros.into()),
    ];
    for (range, mut value) in fields {
        for digit in out.get_mut(range).unwrap_or_default().iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    Timestamp(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0).as_str(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(951_782_400, 5).as_str(),
            "2000-02-29T00:00:00.000005Z"
        );
        assert_eq!(
            rfc3339(1_795_710_277, 123_456).as_str(),
            "2026-11-26T16:24:37.123456Z"
        );
    }
}
