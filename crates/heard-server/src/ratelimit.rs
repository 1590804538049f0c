//! Per-IP limits on what the public can write: submissions, and displays (A-11's "offered the survey", the
//! denominator of every response rate, which the public could otherwise push at will). Each has its own budget of
//! the same size, so viewing pages never uses up a person's submissions. The limit lives in each instance's memory:
//! with N instances an address gets N times the budget, which is acceptable for abuse defence (it is not a quota)
//! and keeps submissions free of a database round trip. Any new figure the public can move (a QR scan, a share link
//! opened, a signal from another channel) takes a budget of its own here and counts only within it.

use axum::http::{HeaderMap, Method};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

pub struct IpLimiter {
    inner: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

impl IpLimiter {
    /// `per_minute` submissions per address with a burst of a tenth of that (at least 10); 0 disables the limit.
    pub fn per_minute(per_minute: u32) -> IpLimiter {
        let inner = NonZeroU32::new(per_minute).map(|n| {
            let burst = NonZeroU32::new((per_minute / 10).max(10)).expect("nonzero");
            RateLimiter::keyed(Quota::per_minute(n).allow_burst(burst))
        });
        IpLimiter { inner }
    }

    /// Spends one of the budget of `ip`'s address group (an IPv6 address's /64, see
    /// `heard_store::throttle::address_group`), or answers 429 when it is spent.
    pub fn check(&self, ip: IpAddr) -> Result<(), crate::AppError> {
        match &self.inner {
            Some(l) => l
                .check_key(&heard_store::throttle::address_group(ip))
                .map_err(|_| crate::AppError::RateLimited),
            None => Ok(()),
        }
    }
}

/// Displays already counted this hour, per address group, survey and channel: a repeat view by the same person
/// is not a new offer of the survey (A-11's "offered the survey"), so one address adds at most one display per
/// survey and channel each hour (24 a day), however often it reloads the page or calls the display beacon. An
/// hour, not a day, because many people share one address behind an office's or a carrier's NAT; a person who
/// comes back the next hour is counted again. IPv6 addresses are grouped by their /64, the block one subscriber
/// is given. Like the limits above this lives in each instance's memory: with N instances a view may be counted
/// up to N times in an hour. At most `CAP` keys are kept; past that (a flood of distinct addresses) displays are
/// counted within the address's budget only, until the hour turns. Any new public figure that counts "a person
/// was shown something" (a QR scan, a share link opened) should count through this too.
pub struct DisplayOnce {
    seen: std::sync::Mutex<std::collections::HashSet<(IpAddr, String, i64)>>,
}

impl Default for DisplayOnce {
    fn default() -> Self {
        DisplayOnce {
            seen: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }
}

impl DisplayOnce {
    const CAP: usize = 200_000;

    /// Whether this is the first view this hour (`now_ms`, Unix milliseconds) from `ip`'s group of what `what`
    /// names (the survey and channel); it is remembered as seen.
    pub fn first(&self, ip: IpAddr, what: String, now_ms: i64) -> bool {
        let hour = now_ms.div_euclid(3_600_000);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= Self::CAP {
            seen.retain(|(_, _, h)| *h >= hour);
        }
        let key = (heard_store::throttle::address_group(ip), what, hour);
        if seen.contains(&key) {
            return false;
        }
        if seen.len() < Self::CAP {
            seen.insert(key);
        }
        true
    }
}

/// Whether a request is a person being shown a page, rather than a HEAD request, a browser fetching the page ahead
/// of time in case it is opened (prefetch and prerender: `Sec-Purpose`, `Purpose`, `X-Purpose`, Firefox's `X-Moz`),
/// or a fetch that embeds it as something other than a document or frame (`Sec-Fetch-Dest`). Only views count as
/// displays; the page itself is served either way.
pub fn is_view(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET {
        return false;
    }
    let has = |name: &str, words: &[&str]| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';', ' ']))
            .any(|w| words.iter().any(|x| w.trim().eq_ignore_ascii_case(x)))
    };
    let ahead = ["prefetch", "prerender", "preview"];
    if has("sec-purpose", &ahead)
        || has("purpose", &ahead)
        || has("x-purpose", &ahead)
        || has("x-moz", &ahead)
    {
        return false;
    }
    match headers.get("sec-fetch-dest").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(d) => matches!(d, "document" | "iframe" | "frame"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_get_that_is_not_fetched_ahead_is_a_view() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(*k, v.parse().unwrap());
            }
            m
        };
        assert!(is_view(&Method::GET, &h(&[])));
        assert!(is_view(&Method::GET, &h(&[("sec-fetch-dest", "document")])));
        assert!(!is_view(&Method::HEAD, &h(&[])));
        assert!(!is_view(
            &Method::GET,
            &h(&[("sec-purpose", "prefetch;prerender")])
        ));
        assert!(!is_view(&Method::GET, &h(&[("purpose", "prefetch")])));
        assert!(!is_view(&Method::GET, &h(&[("x-moz", "prefetch")])));
        assert!(!is_view(&Method::GET, &h(&[("x-purpose", "preview")])));
        assert!(!is_view(&Method::GET, &h(&[("sec-fetch-dest", "image")])));
    }

    #[test]
    fn a_view_is_counted_once_per_address_group_and_hour() {
        let d = DisplayOnce::default();
        let t = 1_700_000_000_000;
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(d.first(v6("2001:db8::1"), "s".into(), t));
        assert!(!d.first(v6("2001:db8::1"), "s".into(), t + 1000));
        assert!(!d.first(v6("2001:db8::ffff:1"), "s".into(), t), "same /64");
        assert!(d.first(v6("2001:db8:0:1::1"), "s".into(), t), "another /64");
        assert!(d.first(v6("2001:db8::1"), "other".into(), t));
        assert!(d.first(v6("2001:db8::1"), "s".into(), t + 3_600_000));
        assert!(d.first(v6("192.0.2.1"), "s".into(), t));
        assert!(!d.first(v6("::ffff:192.0.2.1"), "s".into(), t));
    }

    #[test]
    fn an_address_is_limited_after_its_burst_and_others_are_not() {
        let l = IpLimiter::per_minute(60);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..10 {
            l.check(a).unwrap();
        }
        assert!(l.check(a).is_err());
        assert!(l.check(b).is_ok());
        assert!(IpLimiter::per_minute(0).check(a).is_ok());
        // The addresses of one IPv6 /64 share a budget; another /64 has its own.
        let l = IpLimiter::per_minute(60);
        for i in 0..10u16 {
            l.check(IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, i]))
                .unwrap();
        }
        assert!(l.check("2001:db8:0:1::ffff".parse().unwrap()).is_err());
        assert!(l.check("2001:db8:0:2::1".parse().unwrap()).is_ok());
    }
}
