//! FIX field text → tickrail values, exactly: prices and quantities go from the raw field text
//! straight into fixed point at the instrument's scale (no `f64` anywhere), ids and enums
//! are checked, and every failure is a typed [`FieldError`] naming the tag.
//!
//! A FIX `float` is an optional `-`, digits, and an optional `.` with more digits (`5.`,
//! `.5`, `007.50` are all valid FIX). Decimal places beyond the scale must be zeros.

use tickrail_engine::{Price, Qty, Scale};

/// What is wrong with a field. `Copy` so that it can travel through a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// A required tag is absent.
    #[error("tag {tag} is missing")]
    Missing {
        /// The tag.
        tag: u32,
    },
    /// The text is not a FIX decimal (or not an integer where one is required).
    #[error("tag {tag} is not a number")]
    NotANumber {
        /// The tag.
        tag: u32,
    },
    /// Non-zero digits beyond the instrument's decimal places.
    #[error("tag {tag} has more decimal places than the instrument's scale {scale}")]
    TooManyDecimals {
        /// The tag.
        tag: u32,
        /// The scale it was parsed at.
        scale: u8,
    },
    /// The value does not fit a 64-bit fixed-point number at the scale.
    #[error("tag {tag} overflows a 64-bit fixed-point value at scale {scale}")]
    Overflow {
        /// The tag.
        tag: u32,
        /// The scale it was parsed at.
        scale: u8,
    },
    /// A price or order quantity of zero or below.
    #[error("tag {tag} must be positive")]
    NotPositive {
        /// The tag.
        tag: u32,
    },
    /// A negative quantity where zero is allowed (leaves, cum, last).
    #[error("tag {tag} must not be negative")]
    Negative {
        /// The tag.
        tag: u32,
    },
    /// An enumerated or id field with a value we do not accept.
    #[error("tag {tag} has an unsupported value")]
    BadValue {
        /// The tag.
        tag: u32,
    },
}

impl FieldError {
    /// The tag the error is about.
    pub const fn tag(self) -> u32 {
        match self {
            Self::Missing { tag }
            | Self::NotANumber { tag }
            | Self::TooManyDecimals { tag, .. }
            | Self::Overflow { tag, .. }
            | Self::NotPositive { tag }
            | Self::Negative { tag }
            | Self::BadValue { tag } => tag,
        }
    }
}

/// Parses a FIX decimal into a raw fixed-point `i64` at `scale`, exactly.
///
/// Accepts `-`? digits* (`.` digits*)? with at least one digit. Digits beyond the scale's
/// places must be `0` ([`FieldError::TooManyDecimals`] otherwise); a result beyond `i64` is
/// [`FieldError::Overflow`]. Allocation-free.
pub fn parse_decimal(tag: u32, text: &str, scale: Scale) -> Result<i64, FieldError> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let (int_part, frac_part) = match rest.iter().position(|&b| b == b'.') {
        Some(dot) => (&rest[..dot], &rest[dot + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if int_part.len() + frac_part.len() == 0 || !digits(int_part) || !digits(frac_part) {
        return Err(FieldError::NotANumber { tag });
    }
    let places = usize::from(scale.get());
    if frac_part.iter().skip(places).any(|&b| b != b'0') {
        return Err(FieldError::TooManyDecimals {
            tag,
            scale: scale.get(),
        });
    }
    let overflow = FieldError::Overflow {
        tag,
        scale: scale.get(),
    };
    // Accumulate as a negative number so that i64::MIN is reachable.
    let mut acc: i64 = 0;
    let digit_iter = int_part
        .iter()
        .copied()
        .chain((0..places).map(|i| frac_part.get(i).copied().unwrap_or(b'0')));
    for d in digit_iter {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_sub(i64::from(d - b'0')))
            .ok_or(overflow)?;
    }
    if negative {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or(overflow)
    }
}

/// A price (tags 44, 31): positive, exact at `scale`.
pub fn parse_price(tag: u32, text: &str, scale: Scale) -> Result<Price, FieldError> {
    let raw = parse_decimal(tag, text, scale)?;
    Price::new_checked(raw).map_err(|_| FieldError::NotPositive { tag })
}

/// An order quantity (tag 38): strictly positive, exact at `scale`. Zero, negative, too
/// many decimals or overflow are the "impossible quantities" a venue rejects.
pub fn parse_order_qty(tag: u32, text: &str, scale: Scale) -> Result<Qty, FieldError> {
    let raw = parse_decimal(tag, text, scale)?;
    if raw <= 0 {
        return Err(FieldError::NotPositive { tag });
    }
    Ok(Qty::new(raw))
}

/// A quantity that may be zero (tags 14, 32, 151): non-negative, exact at `scale`.
pub fn parse_qty(tag: u32, text: &str, scale: Scale) -> Result<Qty, FieldError> {
    let raw = parse_decimal(tag, text, scale)?;
    Qty::new_checked(raw).map_err(|_| FieldError::Negative { tag })
}

/// A non-negative integer such as a tickrail client order id (tag 11, 41) or a sequence
/// number: ASCII digits only, no sign, fits a `u64`.
pub fn parse_u64(tag: u32, text: &str) -> Result<u64, FieldError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::NotANumber { tag });
    }
    text.bytes().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(d - b'0')))
            .ok_or(FieldError::Overflow { tag, scale: 0 })
    })
}

/// A single-character field (`54`, `150`, `39`, `59`, …): exactly one byte.
pub fn parse_char(tag: u32, text: &str) -> Result<u8, FieldError> {
    match text.as_bytes() {
        [c] => Ok(*c),
        [] => Err(FieldError::Missing { tag }),
        _ => Err(FieldError::BadValue { tag }),
    }
}

/// `Y`/`N` (tag 43 PossDupFlag, 97 PossResend).
pub fn parse_bool(tag: u32, text: &str) -> Result<bool, FieldError> {
    match text {
        "Y" => Ok(true),
        "N" => Ok(false),
        _ => Err(FieldError::BadValue { tag }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tickrail_engine::value::{parse_raw, FixedDisplay};

    use super::*;

    fn s(p: u8) -> Scale {
        Scale::new(p)
    }

    #[test]
    fn parses_fix_decimals_exactly() {
        assert_eq!(parse_decimal(44, "100.25", s(4)), Ok(1_002_500));
        assert_eq!(parse_decimal(44, "100", s(2)), Ok(10_000));
        assert_eq!(parse_decimal(44, "5.", s(1)), Ok(50));
        assert_eq!(parse_decimal(44, ".5", s(1)), Ok(5));
        assert_eq!(parse_decimal(44, "-0.5", s(1)), Ok(-5));
        assert_eq!(parse_decimal(44, "1.2300", s(2)), Ok(123));
        assert_eq!(parse_decimal(38, "007", s(0)), Ok(7));
    }

    #[test]
    fn rejects_garbage_with_the_tag() {
        for bad in [
            "", ".", "-", "1e5", "+1", " 1", "1 ", "1.2.3", "NaN", "inf", "1,5",
        ] {
            assert_eq!(
                parse_decimal(44, bad, s(2)),
                Err(FieldError::NotANumber { tag: 44 }),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_decimal(38, "1.001", s(2)),
            Err(FieldError::TooManyDecimals { tag: 38, scale: 2 })
        );
        assert_eq!(
            parse_decimal(38, "99999999999999999999", s(0)),
            Err(FieldError::Overflow { tag: 38, scale: 0 })
        );
        assert_eq!(
            parse_decimal(38, "9223372036854775.808", s(3)),
            Err(FieldError::Overflow { tag: 38, scale: 3 })
        );
        assert_eq!(
            parse_decimal(38, "-9223372036854775.808", s(3)),
            Ok(i64::MIN)
        );
    }

    #[test]
    fn impossible_quantities_are_rejected() {
        assert_eq!(
            parse_order_qty(38, "0", s(0)),
            Err(FieldError::NotPositive { tag: 38 })
        );
        assert_eq!(
            parse_order_qty(38, "-5", s(0)),
            Err(FieldError::NotPositive { tag: 38 })
        );
        assert_eq!(
            parse_order_qty(38, "1.5", s(0)),
            Err(FieldError::TooManyDecimals { tag: 38, scale: 0 })
        );
        assert_eq!(parse_order_qty(38, "1.000", s(0)), Ok(Qty::new(1)));
        assert_eq!(parse_qty(151, "0", s(0)), Ok(Qty::ZERO));
        assert_eq!(
            parse_qty(151, "-1", s(0)),
            Err(FieldError::Negative { tag: 151 })
        );
        assert_eq!(
            parse_price(44, "0", s(2)),
            Err(FieldError::NotPositive { tag: 44 })
        );
    }

    #[test]
    fn ids_chars_and_flags() {
        assert_eq!(parse_u64(11, "42"), Ok(42));
        assert_eq!(parse_u64(11, "18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_u64(11, "18446744073709551616"),
            Err(FieldError::Overflow { tag: 11, scale: 0 })
        );
        assert_eq!(parse_u64(11, "-1"), Err(FieldError::NotANumber { tag: 11 }));
        assert_eq!(parse_u64(11, "ab"), Err(FieldError::NotANumber { tag: 11 }));
        assert_eq!(parse_char(54, "1"), Ok(b'1'));
        assert_eq!(parse_char(54, "12"), Err(FieldError::BadValue { tag: 54 }));
        assert_eq!(parse_bool(43, "Y"), Ok(true));
        assert_eq!(parse_bool(43, "y"), Err(FieldError::BadValue { tag: 43 }));
        assert_eq!(FieldError::Missing { tag: 55 }.tag(), 55);
    }

    proptest! {
        #[test]
        fn display_round_trips(raw in any::<i64>(), places in 0u8..=18) {
            let text = FixedDisplay::new(raw, s(places)).to_string();
            prop_assert_eq!(parse_decimal(44, &text, s(places)), Ok(raw));
        }

        #[test]
        fn agrees_with_the_engine_parser(text in "-?[0-9]{1,20}(\\.[0-9]{1,20})?", places in 0u8..=18) {
            let ours = parse_decimal(44, &text, s(places));
            let engine = parse_raw(&text, s(places));
            prop_assert_eq!(ours.is_ok(), engine.is_ok(), "{:?} vs {:?}", ours, engine);
            if let (Ok(a), Ok(b)) = (ours, engine) {
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn never_panics(text in "\\PC{0,30}", places in 0u8..=18) {
            let _ = parse_decimal(44, &text, s(places));
            let _ = parse_u64(11, &text);
        }
    }
}
