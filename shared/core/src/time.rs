//! Wall-clock time as the spec speaks it: `yyyy-MM-dd HH:mm:ss` in the branch's
//! local time zone (Asia/Shanghai unless the branch says otherwise). Domain code
//! works on `NaiveDateTime` in branch-local time, because tariffs are written in
//! times of day; conversion to and from UTC happens only at the clock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::sync::Arc;

pub const FMT: &str = "%Y-%m-%d %H:%M:%S";
pub const DEFAULT_TZ: &str = "Asia/Shanghai";
/// `1970-01-01 00:00:00` as an end time means "now" (seed 6.1).
pub const NOW_SENTINEL: &str = "1970-01-01 00:00:00";

pub fn format(t: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    // Written out by hand: every answer carries a time, and chrono's `format`
    // reads the pattern anew on each call (3 % of a read in the profile).
    // Years outside four digits keep chrono's signed form.
    if !(0..=9999).contains(&t.year()) {
        return t.format(FMT).to_string();
    }
    fn two(out: &mut String, n: u32) {
        out.push(char::from(b'0' + (n / 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    }
    let mut out = String::with_capacity(19);
    let y = t.year() as u32;
    for (n, sep) in [(y / 100, None), (y % 100, Some('-')), (t.month(), Some('-')), (t.day(), Some(' ')), (t.hour(), Some(':')), (t.minute(), Some(':')), (t.second(), None)] {
        two(&mut out, n);
        out.extend(sep);
    }
    out
}

/// The exact form `yyyy-MM-dd HH:mm:ss`, read without a pattern (`parse`'s
/// first try; everything else takes the tolerant path).
fn parse_exact(s: &[u8]) -> Option<NaiveDateTime> {
    if s.len() != 19 || s[4] != b'-' || s[7] != b'-' || s[10] != b' ' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let num = |at: usize, len: usize| -> Option<u32> {
        s[at..at + len].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 2)?, num(8, 2)?)?.and_hms_opt(num(11, 2)?, num(14, 2)?, num(17, 2)?)
}

/// Parses the spec's time format, tolerating what real clients send: single-digit
/// fields (`2015-10-13 9:20:23`), a `T` separator, `/` in dates, fractional
/// seconds, and a bare date (midnight).
pub fn parse(s: &str) -> Option<NaiveDateTime> {
    if let Some(t) = parse_exact(s.as_bytes()) {
        return Some(t);
    }
    let s = s.trim().replace('T', " ").replace('/', "-");
    let s = match s.split_once('.') {
        Some((head, tail)) if tail.chars().all(|c| c.is_ascii_digit()) => head.to_string(),
        _ => s,
    };
    for f in [FMT, "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}

pub fn tz(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

pub fn to_local(t: DateTime<Utc>, zone: &str) -> NaiveDateTime {
    t.with_timezone(&tz(zone)).naive_local()
}

/// Local wall-clock time to UTC; an ambiguous or skipped time (DST) takes the
/// earliest reading, which is what a person at the gate would expect.
pub fn to_utc(t: NaiveDateTime, zone: &str) -> DateTime<Utc> {
    match tz(zone).from_local_datetime(&t).earliest() {
        Some(z) => z.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&t),
    }
}

/// The source of "now". Tests replace it to make time-dependent rules repeatable.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock moved by a settable offset: `onecard serve --clock-offset`
/// and the agent's `--clock-offset` start it off real time, and a test server
/// (`--test-clock`) lets tests move it while running, so that order lapses,
/// booking slots and retry schedules are tested without waiting.
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    pub fn new(offset: chrono::Duration) -> Arc<Self> {
        let c = OffsetClock::default();
        c.set_offset(offset);
        Arc::new(c)
    }
    pub fn set_offset(&self, offset: chrono::Duration) {
        self.offset_ms.store(offset.num_milliseconds(), std::sync::atomic::Ordering::SeqCst);
    }
    pub fn offset(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.offset_ms.load(std::sync::atomic::Ordering::SeqCst))
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

static GLOBAL: std::sync::RwLock<Option<Arc<dyn Clock>>> = std::sync::RwLock::new(None);

/// Installs the process's clock: what `now()` reads where no `Ctx` is at hand
/// (event ids, dead-letter stamps). A server installs the clock its `Ctx` has,
/// so there is one clock per process.
pub fn install(clock: Arc<dyn Clock>) {
    *GLOBAL.write().unwrap_or_else(|e| e.into_inner()) = Some(clock);
}

/// Now, by the installed clock (the system clock if none was installed).
pub fn now() -> DateTime<Utc> {
    match &*GLOBAL.read().unwrap_or_else(|e| e.into_inner()) {
        Some(c) => c.now(),
        None => Utc::now(),
    }
}

/// A clock fixed at a settable instant.
pub struct FixedClock(pub std::sync::Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(FixedClock(std::sync::Mutex::new(t)))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written format and exact parse agree with chrono's pattern.
    #[test]
    fn fast_format_and_parse_agree_with_chrono() {
        let mut t = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap().and_hms_opt(23, 59, 58).unwrap();
        for step in 0..5000i64 {
            let text = format(t);
            assert_eq!(text, t.format(FMT).to_string());
            assert_eq!(parse(&text), Some(t), "{text}");
            t += chrono::Duration::seconds(step * 7919 + 1);
        }
        for odd in [NaiveDate::from_ymd_opt(12, 1, 2).unwrap(), NaiveDate::from_ymd_opt(10000, 1, 1).unwrap(), NaiveDate::from_ymd_opt(-5, 3, 4).unwrap()] {
            let t = odd.and_hms_opt(1, 2, 3).unwrap();
            assert_eq!(format(t), t.format(FMT).to_string());
        }
        for bad in ["2026-02-30 10:00:00", "2026-01-01 24:00:00", "2026-01-01 10:60:00", "2026-0a-01 10:00:00", "2026-01-01T10:00:00"] {
            assert_eq!(parse_exact(bad.as_bytes()), None, "{bad}");
            assert_eq!(parse(bad), NaiveDateTime::parse_from_str(&bad.replace('T', " "), FMT).ok(), "{bad}");
        }
    }

    #[test]
    fn parses_loose_forms() {
        let want = NaiveDate::from_ymd_opt(2015, 10, 13).unwrap().and_hms_opt(9, 20, 23).unwrap();
        assert_eq!(parse("2015-10-13 9:20:23"), Some(want));
        assert_eq!(parse("2015-10-13T09:20:23"), Some(want));
        assert_eq!(parse("2015/10/13 09:20:23.250"), Some(want));
        assert_eq!(parse("2015-10-13").unwrap().to_string(), "2015-10-13 00:00:00");
        assert_eq!(parse("13/10/2015"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn shanghai_is_utc_plus_8() {
        let t = parse("2026-01-01 08:00:00").unwrap();
        assert_eq!(to_utc(t, DEFAULT_TZ).to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(to_local(to_utc(t, DEFAULT_TZ), DEFAULT_TZ), t);
    }
}
