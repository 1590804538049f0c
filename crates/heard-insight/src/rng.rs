//! The deterministic generator behind bootstrap resampling: SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable
//! pseudorandom number generators", OOPSLA), chosen because it is a few lines that any language can reproduce bit
//! for bit (the Python reference script does), unlike a library generator whose stream may change between versions.

/// SplitMix64 with a 64-bit state.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An index in 0..n by the multiply-shift map ⌊x·n / 2⁶⁴⌋ (Lemire 2019, without the rejection step: the bias
    /// is below n / 2⁶⁴, nothing at survey sizes).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_stream() {
        // The first outputs for seed 1234567, as in the reference C implementation (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }
}
