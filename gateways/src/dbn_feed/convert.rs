//! DBN values to the engine's: prices in units of 1e-9 to an instrument's price scale
//! (exactly, or a counted skip), sizes to its quantity scale, `u64` timestamps to `i64`
//! nanoseconds, and the reasons a record is skipped ([`Skip`]).

use std::fmt;

use tickrail_engine::{Aggressor, FixedDisplay, Price, Qty, Scale, Side};

/// The scale of every DBN price: raw units of 1e-9.
pub(crate) const DBN_PRICE_SCALE: Scale = Scale::new(9);

/// Why a record (or part of one) was not turned into events. Formatted only when a report
/// is kept, so counting a skip never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// `UNDEF_PRICE` where a price is needed.
    UndefinedPrice(&'static str),
    /// The price has digits below the instrument's price scale.
    InexactPrice {
        field: &'static str,
        raw: i64,
        scale: Scale,
    },
    /// The price does not fit an `i64` at the instrument's price scale.
    PriceOverflow {
        field: &'static str,
        raw: i64,
        scale: Scale,
    },
    /// Zero or negative: not a tradable price.
    NonPositivePrice { field: &'static str, raw: i64 },
    /// The size does not fit an `i64` at the instrument's quantity scale.
    QtyOverflow {
        field: &'static str,
        size: u32,
        scale: Scale,
    },
    /// A zero size where the engine needs one (adds, trades).
    ZeroSize(&'static str),
    /// A timestamp beyond `i64` nanoseconds.
    Timestamp { field: &'static str, raw: u64 },
    /// A side other than `B`/`A` where one is needed.
    BadSide { action: u8, side: u8 },
    /// An MBO action the format does not define.
    BadAction(u8),
    /// An MBO add for an order id that is already live.
    DuplicateAdd(u64),
    /// A record type the DBN format does not define.
    UnknownRecordType(u8),
    /// A known record type with a length too short for it.
    ShortRecord { rtype: u8, bytes: usize },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let px = |raw: i64| FixedDisplay::new(raw, DBN_PRICE_SCALE);
        match *self {
            Self::UndefinedPrice(field) => write!(f, "{field}: undefined price (UNDEF_PRICE)"),
            Self::InexactPrice { field, raw, scale } => write!(
                f,
                "{field}: price {} has digits below the instrument's scale {scale}",
                px(raw)
            ),
            Self::PriceOverflow { field, raw, scale } => write!(
                f,
                "{field}: price {} overflows at the instrument's scale {scale}",
                px(raw)
            ),
            Self::NonPositivePrice { field, raw } => {
                write!(f, "{field}: price {} is not positive", px(raw))
            }
            Self::QtyOverflow { field, size, scale } => write!(
                f,
                "{field}: size {size} overflows at the instrument's quantity scale {scale}"
            ),
            Self::ZeroSize(field) => write!(f, "{field}: zero size"),
            Self::Timestamp { field, raw } => {
                write!(f, "{field}: timestamp {raw} is beyond i64 nanoseconds")
            }
            Self::BadSide { action, side } => write!(
                f,
                "action {:?} with side {:?} (needs B or A)",
                char::from(action),
                char::from(side)
            ),
            Self::BadAction(action) => write!(f, "unknown MBO action {:?}", char::from(action)),
            Self::DuplicateAdd(id) => write!(f, "add of order {id}, which is already live"),
            Self::UnknownRecordType(rtype) => write!(f, "unknown record type {rtype:#04x}"),
            Self::ShortRecord { rtype, bytes } => write!(
                f,
                "record type {rtype:#04x} with {bytes} bytes, too short for its kind"
            ),
        }
    }
}

/// A DBN price (units of 1e-9) at `scale`, exactly.
pub(crate) fn price(field: &'static str, raw: i64, scale: Scale) -> Result<Price, Skip> {
    if raw == dbn::UNDEF_PRICE {
        return Err(Skip::UndefinedPrice(field));
    }
    let places = scale.get();
    let value = if places <= DBN_PRICE_SCALE.get() {
        let div = Scale::new(DBN_PRICE_SCALE.get() - places).unit();
        if raw % div != 0 {
            return Err(Skip::InexactPrice { field, raw, scale });
        }
        raw / div
    } else {
        let mul = Scale::new(places - DBN_PRICE_SCALE.get()).unit();
        raw.checked_mul(mul)
            .ok_or(Skip::PriceOverflow { field, raw, scale })?
    };
    Price::new_checked(value).map_err(|_| Skip::NonPositivePrice { field, raw })
}

/// A DBN size (whole units) at `scale`.
pub(crate) fn qty(field: &'static str, size: u32, scale: Scale) -> Result<Qty, Skip> {
    i64::from(size)
        .checked_mul(scale.unit())
        .and_then(|raw| Qty::new_checked(raw).ok())
        .ok_or(Skip::QtyOverflow { field, size, scale })
}

/// A DBN size at `scale` that must not be zero.
pub(crate) fn positive_qty(field: &'static str, size: u32, scale: Scale) -> Result<Qty, Skip> {
    if size == 0 {
        return Err(Skip::ZeroSize(field));
    }
    qty(field, size, scale)
}

/// A DBN timestamp as signed nanoseconds.
pub(crate) fn timestamp(field: &'static str, raw: u64) -> Result<i64, Skip> {
    i64::try_from(raw).map_err(|_| Skip::Timestamp { field, raw })
}

/// The book side of a DBN side character (`B` bid, `A` ask).
pub(crate) fn book_side(side: u8) -> Option<Side> {
    match side {
        b'B' => Some(Side::Buy),
        b'A' => Some(Side::Sell),
        _ => None,
    }
}

/// The aggressor of a DBN trade's side character (`B` buyer, `A` seller, else unknown).
pub(crate) fn aggressor(side: u8) -> Aggressor {
    match side {
        b'B' => Aggressor::Buy,
        b'A' => Aggressor::Sell,
        _ => Aggressor::Unknown,
    }
}

/// A `c_char` field as the byte it holds.
pub(crate) fn byte(c: std::ffi::c_char) -> u8 {
    c.to_ne_bytes()[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_convert_exactly_or_not_at_all() {
        let s2 = Scale::new(2);
        assert_eq!(price("p", 3_720_250_000_000, s2), Ok(Price::new(372_025)));
        assert_eq!(
            price("p", 3_720_125_000_000, s2),
            Err(Skip::InexactPrice {
                field: "p",
                raw: 3_720_125_000_000,
                scale: s2
            })
        );
        assert_eq!(price("p", 1, Scale::new(9)), Ok(Price::new(1)));
        assert_eq!(price("p", 5, Scale::new(12)), Ok(Price::new(5_000)));
        assert!(matches!(
            price("p", i64::MAX - 1, Scale::new(18)),
            Err(Skip::PriceOverflow { .. })
        ));
        assert_eq!(
            price("p", dbn::UNDEF_PRICE, s2),
            Err(Skip::UndefinedPrice("p"))
        );
        assert!(matches!(
            price("p", -250_000_000, s2),
            Err(Skip::NonPositivePrice { .. })
        ));
        assert!(matches!(
            price("p", 0, s2),
            Err(Skip::NonPositivePrice { .. })
        ));
    }

    #[test]
    fn sizes_scale_and_reasons_print() {
        assert_eq!(qty("q", 7, Scale::new(3)), Ok(Qty::new(7_000)));
        assert!(matches!(
            qty("q", u32::MAX, Scale::new(18)),
            Err(Skip::QtyOverflow { .. })
        ));
        assert_eq!(
            positive_qty("q", 0, Scale::new(0)),
            Err(Skip::ZeroSize("q"))
        );
        assert_eq!(
            timestamp("t", u64::MAX),
            Err(Skip::Timestamp {
                field: "t",
                raw: u64::MAX
            })
        );
        let s = Skip::InexactPrice {
            field: "bid_px",
            raw: 3_720_125_000_000,
            scale: Scale::new(2),
        };
        assert_eq!(
            s.to_string(),
            "bid_px: price 3720.125000000 has digits below the instrument's scale 2"
        );
        assert_eq!(Skip::BadAction(b'X').to_string(), "unknown MBO action 'X'");
    }
}
