//! Per-IP limits on submissions, a defence against floods from one address. The limit lives in each instance's
//! memory: with N instances an address gets N times the budget, which is acceptable for abuse defence (it is not a
//! quota) and keeps submissions free of a database round trip.

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

    pub fn check(&self, ip: IpAddr) -> Result<(), crate::AppError> {
        match &self.inner {
            Some(l) => l.check_key(&ip).map_err(|_| crate::AppError::RateLimited),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
