//! The fast path of [`Message::parse`]: a single pass over the bytes of one capture line for
//! the JSON this adapter sees in practice, with the serde visitor of `messages.rs` as the
//! reference and the fallback.
//!
//! [`scan`] reads the same grammar as the serde path — an object, a nested `data` object,
//! keys matched to the same fields, borrowed strings, unsigned integers, booleans, level
//! arrays of `["price","qty"]` pairs, other values skipped — but only the easy part of it:
//! no escapes in any string, no control characters, integers of at most 19 digits, skipped
//! values that are strings, integers or literals (not floats, arrays or objects), and a
//! `data` value that is an object. Anything else, valid or not, returns `None` and the
//! caller parses the line with serde, so an unusual or malformed line gets exactly the
//! answer (or the error message) it gets without this file. Where it answers, it answers
//! what serde does: the same [`Message`] and the same level entries (duplicate keys
//! included: the last one wins, and level arrays are appended in reading order).
//!
//! [`fixed`]: decimal text to a raw fixed-point value, the common case of
//! [`tickrail_engine::value::parse_raw`] (no sign, at most 18 significant places), `None`
//! for everything else so the caller takes the exact parser and its error.

use super::messages::{Field, LevelSpan, Message, Span};

/// The line as bytes and a read position.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// JSON insignificant whitespace.
#[inline(always)]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The next byte that is not whitespace (not consumed).
    #[inline(always)]
    fn peek_ws(&mut self) -> Option<u8> {
        loop {
            let b = self.peek()?;
            if !is_ws(b) {
                return Some(b);
            }
            self.pos += 1;
        }
    }

    /// Consumes `b` after optional whitespace, or fails.
    #[inline(always)]
    fn expect(&mut self, b: u8) -> Option<()> {
        if self.peek_ws()? == b {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// A string's contents, the opening quote already consumed; `None` at an escape, a
    /// control character or the end of the text. Eight bytes at a time (SWAR).
    #[inline(always)]
    fn string_body(&mut self) -> Option<Span> {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        let start = self.pos;
        let mut i = start;
        while let Some(chunk) = self.bytes.get(i..i + 8) {
            let v = u64::from_le_bytes(chunk.try_into().ok()?);
            let quote = v ^ (LO * u64::from(b'"'));
            let backslash = v ^ (LO * u64::from(b'\\'));
            // A byte's high bit is set in a term if the byte is the one sought (or, above
            // the first such byte, by a borrow): the lowest set bit marks the first stop.
            let stops = ((quote.wrapping_sub(LO) & !quote)
                | (backslash.wrapping_sub(LO) & !backslash)
                | (v.wrapping_sub(LO * 0x20) & !v))
                & HI;
            if stops != 0 {
                i += (stops.trailing_zeros() / 8) as usize;
                return self.close(start, i);
            }
            i += 8;
        }
        let n = self
            .bytes
            .get(i..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        self.close(start, i + n)
    }

    /// The string that started at `start` stops at `stop`: its end if that is a quote.
    #[inline(always)]
    fn close(&mut self, start: usize, stop: usize) -> Option<Span> {
        if self.bytes.get(stop) != Some(&b'"') {
            return None;
        }
        self.pos = stop + 1;
        Some(Span::new(start, stop))
    }

    /// A string value after optional whitespace.
    #[inline(always)]
    fn string(&mut self) -> Option<Span> {
        self.expect(b'"')?;
        self.string_body()
    }

    /// A string value, borrowed.
    #[inline(always)]
    fn str(&mut self) -> Option<&'a str> {
        let span = self.string()?;
        span.get(self.text)
    }

    /// An unsigned integer of at most 19 digits (no leading zero but `0` itself), not
    /// followed by a fraction or an exponent.
    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        self.peek_ws()?;
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(b) = self.peek() {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 || len > 19 || (len > 1 && self.bytes.get(start) == Some(&b'0')) {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(n)
    }

    /// `true` or `false`.
    #[inline(always)]
    fn bool(&mut self) -> Option<bool> {
        let b = self.peek_ws()?;
        let rest = self.bytes.get(self.pos..)?;
        if b == b't' && rest.starts_with(b"true") {
            self.pos += 4;
            Some(true)
        } else if b == b'f' && rest.starts_with(b"false") {
            self.pos += 5;
            Some(false)
        } else {
            None
        }
    }

    /// Skips a value this adapter does not read: a string, an integer or a literal.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek_ws()? {
            b'"' => {
                self.pos += 1;
                self.string_body().map(drop)
            }
            b'-' => {
                self.pos += 1;
                // `-` must be followed by a digit.
                if !self.peek()?.is_ascii_digit() {
                    return None;
                }
                self.u64().map(drop)
            }
            b'0'..=b'9' => self.u64().map(drop),
            b't' | b'f' => self.bool().map(drop),
            b'n' if self.bytes.get(self.pos..)?.starts_with(b"null") => {
                self.pos += 4;
                Some(())
            }
            _ => None,
        }
    }

    /// A [`Field`]: a string, an unsigned integer or an array of `[price, qty]` pairs.
    fn field(&mut self, levels: &mut Vec<LevelSpan>) -> Option<Field<'a>> {
        match self.peek_ws()? {
            b'"' => self.str().map(Field::Str),
            b'0'..=b'9' => self.u64().map(Field::Num),
            b'[' => {
                self.pos += 1;
                let start = levels.len();
                if self.peek_ws()? == b']' {
                    self.pos += 1;
                    return Some(Field::Levels(start..start));
                }
                loop {
                    self.expect(b'[')?;
                    let px = self.string()?;
                    self.expect(b',')?;
                    let qty = self.string()?;
                    self.expect(b']')?;
                    levels.push(LevelSpan { px, qty });
                    match self.peek_ws()? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Some(Field::Levels(start..levels.len()));
                        }
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// An object's members into `msg`, the opening brace already consumed.
    fn object(
        &mut self,
        msg: &mut Message<'a>,
        levels: &mut Vec<LevelSpan>,
        nested: bool,
    ) -> Option<()> {
        if self.peek_ws()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            let key = self.bytes.get(key.start()..key.end())?;
            match key {
                b"stream" => msg.stream = Some(self.str()?),
                b"data" => {
                    if nested {
                        return None;
                    }
                    self.expect(b'{')?;
                    self.object(msg, levels, true)?;
                }
                b"e" => msg.event = Some(self.str()?),
                b"E" => msg.event_time = Some(self.u64()?),
                b"T" => msg.trade_time = Some(self.u64()?),
                b"s" => msg.symbol = Some(self.str()?),
                b"U" => msg.first_id = Some(self.u64()?),
                b"u" => msg.last_id = Some(self.u64()?),
                b"pu" => msg.prev_last_id = Some(self.u64()?),
                b"lastUpdateId" => msg.snapshot_id = Some(self.u64()?),
                b"b" => msg.b = Some(self.field(levels)?),
                b"a" => msg.a = Some(self.field(levels)?),
                b"B" => msg.bid_qty = Some(self.str()?),
                b"A" => msg.ask_qty = Some(self.str()?),
                b"bids" => msg.bids = Some(self.field(levels)?),
                b"asks" => msg.asks = Some(self.field(levels)?),
                b"t" => msg.trade_id = Some(self.u64()?),
                b"p" => msg.price = Some(self.str()?),
                b"q" => msg.qty = Some(self.str()?),
                b"m" => msg.buyer_is_maker = Some(self.bool()?),
                b"X" => msg.trade_type = Some(self.str()?),
                b"result" | b"id" => {
                    self.skip_value()?;
                    msg.ack = true;
                }
                b"code" => {
                    self.skip_value()?;
                    msg.error = true;
                }
                _ => self.skip_value()?,
            }
            match self.peek_ws()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// Reads `json` into a [`Message`] (appending level entries to `levels`), or `None` if the
/// line is not of the easy kind (see the module docs): the caller then parses it with serde.
pub(super) fn scan<'a>(json: &'a str, levels: &mut Vec<LevelSpan>) -> Option<Message<'a>> {
    let mut cur = Cursor {
        text: json,
        bytes: json.as_bytes(),
        pos: 0,
    };
    let mut msg = Message::default();
    cur.expect(b'{')?;
    cur.object(&mut msg, levels, false)?;
    match cur.peek_ws() {
        None => Some(msg),
        Some(_) => None,
    }
}

/// Powers of ten that fit an `i64`.
const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `text` (ASCII digits, optionally `.` and more digits) as a raw value at `scale` decimal
/// places — exactly what `parse_raw` returns for it — or `None` if the text has a sign, is
/// not of that form, has non-zero places beyond the scale, or could need more than 18
/// digits (the caller then takes the exact parser, which answers or explains).
#[inline]
pub(super) fn fixed(text: &str, scale: u8) -> Option<i64> {
    let bytes = text.as_bytes();
    let places = usize::from(scale);
    let mut acc: i64 = 0;
    let mut i = 0;
    // Integer part: at least one digit.
    while let Some(&b) = bytes.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // Then at most 18 digits in all: below 10^18, no overflow.
        if i + places >= 18 {
            return None;
        }
        acc = acc * 10 + i64::from(d);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut used = 0;
    if let Some(&b) = bytes.get(i) {
        if b != b'.' {
            return None;
        }
        let frac = bytes.get(i + 1..)?;
        if frac.is_empty() {
            return None;
        }
        for &b in frac {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            if used < places {
                acc = acc * 10 + i64::from(d);
                used += 1;
            } else if d != 0 {
                return None;
            }
        }
    }
    Some(acc * POW10.get(places - used)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use std::io::BufRead;

    use proptest::prelude::*;
    use tickrail_engine::value::parse_raw;
    use tickrail_engine::Scale;

    use super::*;

    /// The scanner's answer for `json`, checked against serde's: where the scanner answers,
    /// serde must give the same message and level entries. Returns whether it answered.
    fn agrees(json: &str) -> bool {
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let Some(msg) = scan(json, &mut fast) else {
            return false;
        };
        match Message::parse_serde(json, &mut slow) {
            Ok(reference) => {
                assert_eq!(msg, reference, "message of {json:?}");
                assert_eq!(fast, slow, "levels of {json:?}");
            }
            Err(e) => panic!("scanner read {json:?}, serde refuses it: {e}"),
        }
        true
    }

    /// The lines of a committed sample capture (`gateways/samples/binance/`).
    fn capture(name: &str) -> Vec<String> {
        let path = crate::feed::sample_data_dir().join("binance").join(name);
        assert!(
            path.is_file(),
            "{} is missing (the Binance samples are committed in gateways/samples/binance)",
            path.display()
        );
        let reader = crate::feed::open_maybe_gz(&path).unwrap();
        reader.lines().map(Result::unwrap).collect()
    }

    #[test]
    fn every_line_of_the_sample_captures_reads_as_serde_reads_it() {
        for name in ["spot_btcusdt_20240808.gz", "usdm_ethusdt_20240808.gz"] {
            let lines = capture(name);
            assert!(lines.len() > 40_000, "{name}: {} lines", lines.len());
            for (i, line) in lines.iter().enumerate() {
                let json = line.split_once(' ').unwrap().1;
                // The fast path takes every line of the real captures.
                assert!(agrees(json), "{name} line {}: not taken: {json:?}", i + 1);
            }
        }
    }

    /// Lines of every shape, as the captures have them, plus the rarer ones.
    const SEEDS: &[&str] = &[
        r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}}"#,
        r#"{"stream":"ethusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161255208,"T":1723161255207,"s":"ETHUSDT","U":5,"u":7,"pu":4,"b":[],"a":[["2600.10","1.000"]]}}"#,
        r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#,
        r#"{"stream":"ethusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"ETHUSDT","b":"2600.10","B":"1.000","a":"2600.11","A":"2.5","T":1,"E":2}}"#,
        r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#,
        r#"{"stream":"ethusdt@trade","data":{"e":"trade","E":1,"T":1,"s":"ETHUSDT","t":1,"p":"2600.10","q":"0.010","X":"MARKET","m":false}}"#,
        r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","a":12,"p":"1.5","q":"2","f":1,"l":2,"T":1,"m":true,"M":true}"#,
        r#"{"lastUpdateId":42,"bids":[["1.00","2.00"],["0.90","1"]],"asks":[["1.10","3"]]}"#,
        r#"{"lastUpdateId":42,"E":1,"T":1,"bids":[],"asks":[["1.10","3"]]}"#,
        r#"{"result":null,"id":1}"#,
        r#"{"code":-1121,"msg":"Invalid symbol."}"#,
        r#" { "e" : "trade" , "s" : "X" , "t" : 0 , "m" : false , "x" : -5 } "#,
        r#"{}"#,
        r#"{"data":{}}"#,
    ];

    #[test]
    fn seeds_read_as_serde_reads_them() {
        for seed in SEEDS {
            assert!(agrees(seed), "not taken: {seed}");
        }
    }

    #[test]
    fn unusual_and_malformed_lines_agree_or_defer() {
        let odd = [
            // Escapes: deferred (serde refuses them in read fields, accepts them in keys
            // and in skipped values).
            r#"{"e":"tr\u0061de","s":"X"}"#,
            r#"{"\u0065":"trade","s":"X"}"#,
            r#"{"e":"trade","zz":"a\"b","s":"X"}"#,
            // Wrong types.
            r#"{"e":1,"s":"X"}"#,
            r#"{"E":"1","s":"X"}"#,
            r#"{"E":-1,"s":"X"}"#,
            r#"{"E":1.5,"s":"X"}"#,
            r#"{"E":1e3,"s":"X"}"#,
            r#"{"E":01,"s":"X"}"#,
            r#"{"E":18446744073709551615,"s":"X"}"#,
            r#"{"E":18446744073709551616,"s":"X"}"#,
            r#"{"m":"true"}"#,
            r#"{"m":tru}"#,
            r#"{"b":[["1","2","3"]]}"#,
            r#"{"b":[["1"]]}"#,
            r#"{"b":[[1,"2"]]}"#,
            r#"{"b":[["1","2"],]}"#,
            r#"{"b":-3}"#,
            r#"{"b":null}"#,
            r#"{"b":{"x":1}}"#,
            r#"{"data":{"data":{}}}"#,
            r#"{"data":[]}"#,
            r#"{"data":null}"#,
            r#"{"x":[1,2],"s":"X"}"#,
            r#"{"x":{"y":1},"s":"X"}"#,
            r#"{"x":1.25,"s":"X"}"#,
            r#"{"x":-0,"s":"X"}"#,
            r#"{"x":-,"s":"X"}"#,
            r#"{"x":nul}"#,
            // Structure.
            r#"{"s":"X",}"#,
            r#"{"s":"X"}}"#,
            r#"{"s":"X"} x"#,
            r#"{"s" "X"}"#,
            r#"{"s":"X""t":1}"#,
            r#"["s"]"#,
            "{\"s\":\"X\tY\"}",
            "{\"s\":\"é\"}",
            "",
            "   ",
            // Duplicates: the last one wins, level arrays appended in order.
            r#"{"s":"X","s":"Y","b":[["1","2"]],"b":[["3","4"]],"data":{"s":"Z"},"data":{"u":1}}"#,
        ];
        for json in odd {
            agrees(json);
        }
        // Every prefix of every seed, and every seed with one byte replaced by a byte that
        // matters to the grammar.
        let swaps = b"\"\\{}[],:0-9.eE ta\x01";
        for seed in SEEDS {
            for cut in 0..seed.len() {
                if let Some(prefix) = seed.get(..cut) {
                    agrees(prefix);
                }
            }
            let bytes = seed.as_bytes();
            for i in 0..bytes.len() {
                for &b in swaps {
                    let mut v = bytes.to_vec();
                    v[i] = b;
                    if let Ok(text) = std::str::from_utf8(&v) {
                        agrees(text);
                    }
                    v.insert(i, b);
                    if let Ok(text) = std::str::from_utf8(&v) {
                        agrees(text);
                    }
                }
            }
        }
    }

    #[test]
    fn strings_stop_at_the_first_quote_escape_or_control_at_any_offset() {
        for len in 0..24 {
            for stop in ["\"", "\\n\"", "\u{1}\"", "\u{1f}\""] {
                for filler in ["a", "é", "\u{7f}", " "] {
                    let body = filler.repeat(len);
                    let json = format!("{{\"s\":\"{body}{stop},\"t\":1}}");
                    let taken = agrees(&json);
                    assert_eq!(taken, stop == "\"", "{json:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn damaged_seeds_agree_or_defer(
            seed in prop::sample::select(SEEDS.to_vec()),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let mut bytes = seed.as_bytes().to_vec();
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            if let Ok(text) = std::str::from_utf8(&bytes) {
                agrees(text);
            }
        }

        #[test]
        fn fixed_is_parse_raw_where_it_answers(
            text in "-?[0-9]{0,21}(\\.[0-9]{0,21})?|[0-9.]{0,6}",
            scale in 0u8..=18,
        ) {
            if let Some(raw) = fixed(&text, scale) {
                prop_assert_eq!(parse_raw(&text, Scale::new(scale)), Ok(raw));
            }
        }
    }

    #[test]
    fn fixed_takes_the_common_decimals() {
        let cases: &[(&str, u8, i64)] = &[
            ("61837.63000000", 2, 6_183_763),
            ("0.00000000", 8, 0),
            ("1.54698000", 8, 154_698_000),
            ("2600.1", 2, 260_010),
            ("7", 3, 7000),
            ("007", 0, 7),
            ("999999999999999999", 0, 999_999_999_999_999_999),
            ("99999999.9999999999", 10, 999_999_999_999_999_999),
        ];
        for &(text, scale, raw) in cases {
            assert_eq!(fixed(text, scale), Some(raw), "{text} at {scale}");
            assert_eq!(
                parse_raw(text, Scale::new(scale)),
                Ok(raw),
                "{text} at {scale}"
            );
        }
        // Deferred to the exact parser: signs, bad syntax, inexact, possibly too large.
        for (text, scale) in [
            ("-1", 2),
            ("+1", 2),
            ("", 2),
            (".5", 2),
            ("5.", 2),
            ("1.2.3", 2),
            ("1e5", 2),
            ("1.234", 2),
            ("1 ", 2),
            ("9999999999999999999", 0),
            ("1", 18),
            ("1", 19),
        ] {
            assert_eq!(fixed(text, scale), None, "{text} at {scale}");
        }
    }
}
