//! Fixed-point values: [`Price`], [`Qty`] and their decimal [`Scale`].
//!
//! A value is a raw `i64` in units of `10^-scale`; the scale belongs to the instrument (it is
//! interned at config load and carried in every event header), not to the value. Raw 12345 at
//! scale 2 is `123.45`.
//!
//! Text is parsed straight into fixed point and printed straight from it: there is no `f64`
//! anywhere in this module, so `parse(display(x)) == x` holds for every valid value and scale.
//!
//! Constructors come in pairs: `new_checked` returns a [`Result`]; `new` panics on invalid input
//! and is meant for constants and tests. Values decoded from the outside world go through
//! `new_checked` or `parse`.

use std::fmt;

use rkyv::{Archive, Deserialize, Serialize};

/// Why a value could not be built, parsed or scaled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The text was empty.
    #[error("empty text is not a number")]
    Empty,
    /// The text is not a plain decimal number (`123`, `123.45`, `-0.5`).
    #[error("{text:?} is not a decimal number")]
    NotANumber {
        /// The offending text.
        text: String,
    },
    /// The text has non-zero digits beyond the scale's decimal places.
    #[error("{text:?} has more than {scale} significant decimal places")]
    InexactForScale {
        /// The offending text.
        text: String,
        /// The scale it was parsed at.
        scale: u8,
    },
    /// The text, at the scale, does not fit in an `i64`.
    #[error("{text:?} at scale {scale} overflows a 64-bit fixed-point value")]
    Overflow {
        /// The offending text.
        text: String,
        /// The scale it was parsed at.
        scale: u8,
    },
    /// A scale above [`Scale::MAX`].
    #[error("scale {scale} is out of range (0..={max})", max = Scale::MAX)]
    ScaleOutOfRange {
        /// The offending scale.
        scale: u8,
    },
    /// A price of zero or below: not a tradable price.
    #[error("price {raw} (raw) is not positive")]
    NonPositivePrice {
        /// The offending raw value.
        raw: i64,
    },
    /// A negative quantity.
    #[error("quantity {raw} (raw) is negative")]
    NegativeQty {
        /// The offending raw value.
        raw: i64,
    },
}

/// Number of decimal places of a fixed-point value, `0..=18` (`10^18` is the largest power of
/// ten that fits in an `i64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Scale(u8);

/// `10^i` for every valid scale.
const POW10: [i64; Scale::MAX as usize + 1] = {
    let mut table = [1i64; Scale::MAX as usize + 1];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

impl Scale {
    /// The largest scale.
    pub const MAX: u8 = 18;

    /// A scale, or [`ValueError::ScaleOutOfRange`] above [`Scale::MAX`].
    pub const fn new_checked(places: u8) -> Result<Self, ValueError> {
        if places <= Self::MAX {
            Ok(Self(places))
        } else {
            Err(ValueError::ScaleOutOfRange { scale: places })
        }
    }

    /// A scale.
    ///
    /// # Panics
    ///
    /// If `places` is above [`Scale::MAX`].
    pub const fn new(places: u8) -> Self {
        assert!(places <= Self::MAX, "scale out of range (0..=18)");
        Self(places)
    }

    /// The number of decimal places.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `10^places`: the raw value of `1` at this scale.
    pub const fn unit(self) -> i64 {
        POW10[self.0 as usize]
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A price: a positive raw `i64` in units of `10^-scale`.
///
/// Zero and negative prices are not tradable and cannot be built; spreads and price
/// differences are plain `i64` raw values, not `Price`s.
#[derive(
    Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[rkyv(derive(Debug), compare(PartialEq))]
pub struct Price(i64);

/// A quantity: a non-negative raw `i64` in units of `10^-scale`.
#[derive(
    Archive,
    Serialize,
    Deserialize,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
)]
#[rkyv(derive(Debug), compare(PartialEq))]
pub struct Qty(i64);

impl Price {
    /// A price from its raw value, or [`ValueError::NonPositivePrice`] if `raw <= 0`.
    pub const fn new_checked(raw: i64) -> Result<Self, ValueError> {
        if raw > 0 {
            Ok(Self(raw))
        } else {
            Err(ValueError::NonPositivePrice { raw })
        }
    }

    /// A price from its raw value.
    ///
    /// # Panics
    ///
    /// If `raw <= 0`.
    pub const fn new(raw: i64) -> Self {
        assert!(raw > 0, "price must be positive");
        Self(raw)
    }

    /// The raw value, in units of `10^-scale`.
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// Parse decimal text exactly at `scale` (see [`parse_raw`] for the accepted syntax).
    pub fn parse(text: &str, scale: Scale) -> Result<Self, ValueError> {
        Self::new_checked(parse_raw(text, scale)?)
    }

    /// Something that prints this price exactly at `scale` (raw 12345 at scale 2: `123.45`).
    pub const fn display(self, scale: Scale) -> FixedDisplay {
        FixedDisplay::new(self.0, scale)
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(raw) => Some(Self(raw)),
            None => None,
        }
    }

    /// `self - other`, or `None` on overflow or if the result is not a positive price.
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        match self.0.checked_sub(other.0) {
            Some(raw) if raw > 0 => Some(Self(raw)),
            _ => None,
        }
    }
}

impl Qty {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// A quantity from its raw value, or [`ValueError::NegativeQty`] if `raw < 0`.
    pub const fn new_checked(raw: i64) -> Result<Self, ValueError> {
        if raw >= 0 {
            Ok(Self(raw))
        } else {
            Err(ValueError::NegativeQty { raw })
        }
    }

    /// A quantity from its raw value.
    ///
    /// # Panics
    ///
    /// If `raw < 0`.
    pub const fn new(raw: i64) -> Self {
        assert!(raw >= 0, "quantity must not be negative");
        Self(raw)
    }

    /// The raw value, in units of `10^-scale`.
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// Whether the quantity is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parse decimal text exactly at `scale` (see [`parse_raw`] for the accepted syntax).
    pub fn parse(text: &str, scale: Scale) -> Result<Self, ValueError> {
        Self::new_checked(parse_raw(text, scale)?)
    }

    /// Something that prints this quantity exactly at `scale` (raw 5 at scale 3: `0.005`).
    pub const fn display(self, scale: Scale) -> FixedDisplay {
        FixedDisplay::new(self.0, scale)
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(raw) => Some(Self(raw)),
            None => None,
        }
    }

    /// `self - other`, or `None` if the result would be negative.
    pub const fn checked_sub(self, other: Self) -> Option<Self> {
        match self.0.checked_sub(other.0) {
            Some(raw) if raw >= 0 => Some(Self(raw)),
            _ => None,
        }
    }
}

impl ArchivedPrice {
    /// The raw value, in units of `10^-scale`.
    pub fn raw(&self) -> i64 {
        self.0.to_native()
    }
}

impl ArchivedQty {
    /// The raw value, in units of `10^-scale`.
    pub fn raw(&self) -> i64 {
        self.0.to_native()
    }
}

/// Parse decimal text into a raw fixed-point `i64` at `scale`, exactly.
///
/// Accepted: an optional `-`, one or more ASCII digits, then optionally `.` and one or more
/// ASCII digits (`123`, `0.001`, `-4.5`, `007`). Decimal places beyond the scale must be zeros
/// (`1.2300` at scale 2 is raw 123; `1.234` is [`ValueError::InexactForScale`]).
///
/// Rejected with [`ValueError::NotANumber`]: `+`, spaces, exponents (`1e5`), `NaN`, `inf`,
/// `.5`, `5.`, `1.2.3`, `_` separators. A result beyond `i64` is [`ValueError::Overflow`].
/// Never goes through `f64`.
pub fn parse_raw(text: &str, scale: Scale) -> Result<i64, ValueError> {
    if text.is_empty() {
        return Err(ValueError::Empty);
    }
    let not_a_number = || ValueError::NotANumber {
        text: text.to_owned(),
    };
    let overflow = || ValueError::Overflow {
        text: text.to_owned(),
        scale: scale.get(),
    };
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((int_part, frac_part)) => (int_part, Some(frac_part)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
        return Err(not_a_number());
    }
    let frac = frac_part.unwrap_or("").as_bytes();
    let places = usize::from(scale.get());
    if frac.iter().skip(places).any(|&b| b != b'0') {
        return Err(ValueError::InexactForScale {
            text: text.to_owned(),
            scale: scale.get(),
        });
    }
    // Accumulate the magnitude as a negative number so that i64::MIN is reachable.
    let push = |acc: i64, digit: u8| -> Option<i64> {
        acc.checked_mul(10)?.checked_sub(i64::from(digit - b'0'))
    };
    let mut acc: i64 = 0;
    for &digit in int_part.as_bytes() {
        acc = push(acc, digit).ok_or_else(overflow)?;
    }
    for i in 0..places {
        acc = push(acc, frac.get(i).copied().unwrap_or(b'0')).ok_or_else(overflow)?;
    }
    if negative {
        Ok(acc)
    } else {
        acc.checked_neg().ok_or_else(overflow)
    }
}

/// Prints a raw fixed-point value exactly at a scale; see [`Price::display`] and
/// [`Qty::display`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedDisplay {
    raw: i64,
    scale: Scale,
}

impl FixedDisplay {
    /// Prints `raw` in units of `10^-scale`.
    pub const fn new(raw: i64, scale: Scale) -> Self {
        Self { raw, scale }
    }
}

impl fmt::Display for FixedDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.raw.unsigned_abs();
        let unit = self.scale.unit().unsigned_abs();
        let sign = if self.raw < 0 { "-" } else { "" };
        let places = usize::from(self.scale.get());
        if places == 0 {
            write!(f, "{sign}{magnitude}")
        } else {
            let (int_part, frac_part) = (magnitude / unit, magnitude % unit);
            write!(f, "{sign}{int_part}.{frac_part:0places$}")
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn s(places: u8) -> Scale {
        Scale::new(places)
    }

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(Price::parse("123", s(0)), Ok(Price::new(123)));
        assert_eq!(Price::parse("123", s(2)), Ok(Price::new(12300)));
        assert_eq!(Price::parse("123.45", s(2)), Ok(Price::new(12345)));
        assert_eq!(Price::parse("123.4", s(2)), Ok(Price::new(12340)));
        assert_eq!(Price::parse("0.001", s(3)), Ok(Price::new(1)));
        assert_eq!(Price::parse("1.2300", s(2)), Ok(Price::new(123)));
        assert_eq!(Price::parse("007.50", s(1)), Ok(Price::new(75)));
        assert_eq!(Qty::parse("0", s(4)), Ok(Qty::ZERO));
        assert_eq!(Qty::parse("0.000", s(0)), Ok(Qty::ZERO));
        assert_eq!(
            Qty::parse("9223372036854775807", s(0)),
            Ok(Qty::new(i64::MAX))
        );
        assert_eq!(
            Qty::parse("9.223372036854775807", s(18)),
            Ok(Qty::new(i64::MAX))
        );
        assert_eq!(parse_raw("-9223372036854775808", s(0)), Ok(i64::MIN));
        assert_eq!(parse_raw("-1.5", s(1)), Ok(-15));
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        assert_eq!(Price::parse("", s(2)), Err(ValueError::Empty));
        for bad in [
            "NaN", "nan", "inf", "-inf", "1e5", "1E5", "1.2.3", " 1", "1 ", "1 000", "+1", "+",
            "-", ".", ".5", "5.", "1_000", "0x10", "١٢", "1,5", "--1", "-.5",
        ] {
            assert_eq!(
                Price::parse(bad, s(2)),
                Err(ValueError::NotANumber {
                    text: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_inexact_overflow_and_sign() {
        assert_eq!(
            Price::parse("1.234", s(2)),
            Err(ValueError::InexactForScale {
                text: "1.234".into(),
                scale: 2
            })
        );
        assert_eq!(
            Price::parse("1.5", s(0)),
            Err(ValueError::InexactForScale {
                text: "1.5".into(),
                scale: 0
            })
        );
        assert_eq!(
            Qty::parse("9223372036854775808", s(0)),
            Err(ValueError::Overflow {
                text: "9223372036854775808".into(),
                scale: 0
            })
        );
        assert_eq!(
            Qty::parse("10", s(18)),
            Err(ValueError::Overflow {
                text: "10".into(),
                scale: 18
            })
        );
        assert_eq!(
            Price::parse("0", s(2)),
            Err(ValueError::NonPositivePrice { raw: 0 })
        );
        assert_eq!(
            Price::parse("-1.25", s(2)),
            Err(ValueError::NonPositivePrice { raw: -125 })
        );
        assert_eq!(
            Qty::parse("-0.5", s(1)),
            Err(ValueError::NegativeQty { raw: -5 })
        );
        let e = Price::parse("1e5", s(2)).unwrap_err();
        assert!(e.to_string().contains("\"1e5\""), "{e}");
    }

    #[test]
    fn displays_exactly() {
        assert_eq!(Price::new(12345).display(s(2)).to_string(), "123.45");
        assert_eq!(Price::new(5).display(s(3)).to_string(), "0.005");
        assert_eq!(Price::new(100).display(s(2)).to_string(), "1.00");
        assert_eq!(Price::new(7).display(s(0)).to_string(), "7");
        assert_eq!(Qty::ZERO.display(s(2)).to_string(), "0.00");
        assert_eq!(
            Qty::new(i64::MAX).display(s(18)).to_string(),
            "9.223372036854775807"
        );
        assert_eq!(
            FixedDisplay::new(i64::MIN, s(2)).to_string(),
            "-92233720368547758.08"
        );
        assert_eq!(FixedDisplay::new(-5, s(3)).to_string(), "-0.005");
    }

    #[test]
    fn constructors_check() {
        assert!(Price::new_checked(0).is_err());
        assert!(Price::new_checked(-1).is_err());
        assert_eq!(Price::new_checked(1).map(Price::raw), Ok(1));
        assert!(Qty::new_checked(-1).is_err());
        assert_eq!(Qty::new_checked(0), Ok(Qty::ZERO));
        assert_eq!(
            Scale::new_checked(19),
            Err(ValueError::ScaleOutOfRange { scale: 19 })
        );
        assert_eq!(
            Scale::new_checked(18).map(Scale::unit),
            Ok(1_000_000_000_000_000_000)
        );
        assert_eq!(Scale::new(0).unit(), 1);
    }

    #[test]
    #[should_panic(expected = "price must be positive")]
    fn price_new_panics_on_zero() {
        let _ = Price::new(0);
    }

    #[test]
    #[should_panic(expected = "quantity must not be negative")]
    fn qty_new_panics_on_negative() {
        let _ = Qty::new(-1);
    }

    #[test]
    #[should_panic(expected = "scale out of range")]
    fn scale_new_panics_above_max() {
        let _ = Scale::new(19);
    }

    #[test]
    fn checked_arithmetic() {
        let (a, b) = (Price::new(10), Price::new(3));
        assert_eq!(a.checked_add(b), Some(Price::new(13)));
        assert_eq!(a.checked_sub(b), Some(Price::new(7)));
        assert_eq!(b.checked_sub(a), None);
        assert_eq!(a.checked_sub(a), None);
        assert_eq!(Price::new(i64::MAX).checked_add(b), None);
        let (x, y) = (Qty::new(10), Qty::new(3));
        assert_eq!(x.checked_add(y), Some(Qty::new(13)));
        assert_eq!(x.checked_sub(x), Some(Qty::ZERO));
        assert_eq!(y.checked_sub(x), None);
        assert_eq!(Qty::new(i64::MAX).checked_add(y), None);
    }

    proptest! {
        #[test]
        fn price_round_trips(raw in 1..=i64::MAX, places in 0..=Scale::MAX) {
            let (p, scale) = (Price::new(raw), s(places));
            prop_assert_eq!(Price::parse(&p.display(scale).to_string(), scale), Ok(p));
        }

        #[test]
        fn qty_round_trips(raw in 0..=i64::MAX, places in 0..=Scale::MAX) {
            let (q, scale) = (Qty::new(raw), s(places));
            prop_assert_eq!(Qty::parse(&q.display(scale).to_string(), scale), Ok(q));
        }

        #[test]
        fn raw_round_trips_with_sign(raw in any::<i64>(), places in 0..=Scale::MAX) {
            let scale = s(places);
            let text = FixedDisplay::new(raw, scale).to_string();
            prop_assert_eq!(parse_raw(&text, scale), Ok(raw));
        }

        #[test]
        fn trailing_zeros_do_not_matter(raw in 1..=i64::MAX / 1000, places in 0..=15u8) {
            let (p, scale) = (Price::new(raw), s(places));
            let mut text = p.display(scale).to_string();
            text.push_str(if places == 0 { ".000" } else { "000" });
            prop_assert_eq!(Price::parse(&text, scale), Ok(p));
        }

        #[test]
        fn random_text_never_panics(text in ".{0,40}", places in 0..=Scale::MAX) {
            let _ = Price::parse(&text, s(places));
            let _ = Qty::parse(&text, s(places));
        }

        #[test]
        fn numeric_looking_text_never_panics(
            text in "[-+0-9.eE ]{0,30}", places in 0..=Scale::MAX,
        ) {
            if let Ok(q) = Qty::parse(&text, s(places)) {
                prop_assert!(q.raw() >= 0);
            }
        }
    }
}
