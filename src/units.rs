//! Time units and the id hash every stage shares.
//!
//! They used to live in `synth`, so the validator, ingest, the folds and the text features
//! imported the generator for a constant and a hash; now the generator imports them too.

use chrono::NaiveDate;

pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// Epoch milliseconds at the start (00:00 UTC) of day `d`.
pub fn day_start_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc().timestamp_millis()
}

/// SplitMix64's finaliser: a bijection on u64, so distinct inputs give distinct ids. Folds,
/// hashed text features and the generator's ids all use it.
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_hash() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(day_start_ms(d.succ_opt().unwrap()) - day_start_ms(d), MS_PER_DAY);
        assert_eq!(day_start_ms(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()), MS_PER_DAY);
        assert_ne!(mix64(1), mix64(2));
        assert_eq!(mix64(0), 0);
    }
}
