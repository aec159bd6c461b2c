//! The `Date` header value, cached per second.

use std::time::{Duration, SystemTime};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
const IMF_FIXDATE_LEN: usize = 29;

/// Latest second an IMF-fixdate can show (9999-12-31T23:59:59Z); later times are clamped to it.
const LATEST_UNIX_SECS: u64 = 253_402_300_799;

/// The IMF-fixdate text (RFC 9110 §5.6.7) for a Unix time in whole seconds.
///
/// Sans-IO: the caller passes the time (typically once per event-loop turn) and the text is only
/// re-formatted when the second changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDate {
    unix_secs: u64,
    text: [u8; IMF_FIXDATE_LEN],
}

impl HttpDate {
    /// The date text for `unix_secs` seconds after 1970-01-01T00:00:00Z.
    pub fn new(unix_secs: u64) -> Self {
        let unix_secs = unix_secs.min(LATEST_UNIX_SECS);
        Self {
            unix_secs,
            text: format_imf_fixdate(unix_secs),
        }
    }

    /// Moves to `unix_secs`, re-formatting only when the second differs from the current one.
    pub fn set(&mut self, unix_secs: u64) {
        let unix_secs = unix_secs.min(LATEST_UNIX_SECS);
        if unix_secs != self.unix_secs {
            self.unix_secs = unix_secs;
            self.text = format_imf_fixdate(unix_secs);
        }
    }

    /// The second this date shows.
    pub fn unix_secs(&self) -> u64 {
        self.unix_secs
    }

    /// The IMF-fixdate text, always 29 ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }
}

/// Formats with the `httpdate` crate, which covers exactly 1970..=9999 (the caller clamps).
fn format_imf_fixdate(unix_secs: u64) -> [u8; IMF_FIXDATE_LEN] {
    const EPOCH_TEXT: &[u8; IMF_FIXDATE_LEN] = b"Thu, 01 Jan 1970 00:00:00 GMT";
    let time =
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(unix_secs.min(LATEST_UNIX_SECS)));
    time.map(httpdate::fmt_http_date)
        .and_then(|text| <[u8; IMF_FIXDATE_LEN]>::try_from(text.as_bytes()).ok())
        .unwrap_or(*EPOCH_TEXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(date: &HttpDate) -> &str {
        std::str::from_utf8(date.as_bytes()).unwrap()
    }

    #[test]
    fn formats_known_timestamps() {
        // RFC 9110 §5.6.7 example.
        assert_eq!(
            text(&HttpDate::new(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(text(&HttpDate::new(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        // Leap day and the 2038 32-bit rollover.
        assert_eq!(
            text(&HttpDate::new(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            text(&HttpDate::new(2_147_483_648)),
            "Tue, 19 Jan 2038 03:14:08 GMT"
        );
        assert_eq!(
            text(&HttpDate::new(LATEST_UNIX_SECS)),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }

    #[test]
    fn clamps_times_beyond_year_9999() {
        assert_eq!(
            text(&HttpDate::new(u64::MAX)),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        let mut date = HttpDate::new(0);
        date.set(u64::MAX);
        assert_eq!(date.unix_secs(), LATEST_UNIX_SECS);
    }

    #[test]
    fn set_reformats_when_the_second_changes() {
        let mut date = HttpDate::new(784_111_777);
        date.set(784_111_777);
        assert_eq!(text(&date), "Sun, 06 Nov 1994 08:49:37 GMT");
        date.set(784_111_778);
        assert_eq!(text(&date), "Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(date.unix_secs(), 784_111_778);
    }
}
