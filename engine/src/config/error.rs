//! [`ConfigError`]: every way a config can fail, always as `FILE: KEY: REASON`.

use std::fmt;

/// Which class of problem a [`ConfigError`] is (for callers and tests that branch on it; the
/// text is in [`ConfigError::reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigErrorKind {
    /// The config file could not be read.
    Io,
    /// The text is not valid TOML (the key is a best guess: the enclosing table header and
    /// the key on the offending line).
    Syntax,
    /// A key the schema does not know.
    UnknownKey,
    /// A required key is absent.
    MissingKey,
    /// A value of the wrong TOML type (a string where an integer belongs, a float where
    /// decimal text belongs, …).
    WrongType,
    /// A value of the right type that is out of range or inconsistent with another key.
    InvalidValue,
    /// A file the config names (a model) does not exist.
    MissingFile,
}

/// A line and column in the config file, both counted from 1 (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the end of the text).
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let bytes = text.as_bytes();
        let before = bytes.get(..offset.min(bytes.len())).unwrap_or(bytes);
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |nl| nl + 1);
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        // Count characters, not bytes: skip UTF-8 continuation bytes.
        let column = 1 + before
            .get(line_start..)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        Self { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a config could not be loaded. Displays as `FILE: KEY: REASON`, with
/// ` (line L, column C)` appended when the key (or the error) can be found in the file:
///
/// ```text
/// config/default.toml: risk.max_order_qty: must be positive, got 0 (line 98, column 17)
/// x.toml: instruments[1].tick_size: "0.003" is not representable at price_scale 2 (line 13, column 13)
/// x.toml: risk.bogus: unknown key, expected one of `max_order_qty`, … (line 52, column 1)
/// ```
///
/// `KEY` is the full dotted path of the offending key, with array indices
/// (`venues[0].maker_fee`, `feed.regimes[1].mean_duration_s`, `model.features[2]`); a key
/// that is not in the file (a missing key) is named all the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}: {reason}{}", self.location.map(|l| format!(" ({l})")).unwrap_or_default())]
pub struct ConfigError {
    /// The config file as given to [`super::EngineConfig::load`] (or the origin name given to
    /// [`super::EngineConfig::from_toml_str`]).
    pub file: String,
    /// The full dotted key path, e.g. `instruments[1].tick_size`.
    pub key: String,
    /// What is wrong, in words.
    pub reason: String,
    /// The class of problem.
    pub kind: ConfigErrorKind,
    /// Where in the file, if known.
    pub location: Option<Location>,
}

/// A problem found while building the config from the parsed file: the key and reason, not
/// yet the file and location (added by [`Issue::into_error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub kind: ConfigErrorKind,
    pub key: String,
    pub reason: String,
}

impl Issue {
    /// An out-of-range or inconsistent value.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind: ConfigErrorKind::InvalidValue,
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// A key that must be present (for this configuration) and is not.
    pub fn missing(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind: ConfigErrorKind::MissingKey,
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// A key that is not allowed (for this configuration).
    pub fn unknown(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            kind: ConfigErrorKind::UnknownKey,
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The error, in `file`, at `location`.
    pub fn into_error(self, file: &str, location: Option<Location>) -> ConfigError {
        ConfigError {
            file: file.to_owned(),
            key: self.key,
            reason: self.reason,
            kind: self.kind,
            location,
        }
    }
}
