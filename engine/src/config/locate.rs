//! Finding keys in the config text: the full dotted path of a TOML or serde error, and the
//! line and column of a key named by a validation error.
//!
//! `toml` reports a byte span and a message, not a key path. So the text is parsed a second
//! time, by `toml_edit` into an [`ImDocument`] (the document `toml` itself deserializes
//! from, so its spans are the ones `toml`'s errors carry), and every key and array element is
//! listed with its path and span ([`KeyMap`]); an error's span is then looked up in it.
//! Tables made implicitly by dotted keys or `[a.b]` headers have no span. If the text is not
//! valid TOML, [`guess_key`] reads the key from the text instead: the last table header above
//! the error and the key on its line.

use std::collections::BTreeMap;
use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, TomlError, Value};

use super::error::{ConfigErrorKind, Issue, Location};

/// Every key and array element of a document with its full dotted path
/// (`instruments[1].tick_size`) and the byte span of its value, if known.
#[derive(Debug, Default)]
pub(crate) struct KeyMap {
    entries: Vec<(String, Option<Range<usize>>)>,
}

impl KeyMap {
    /// The map of `text`, or the TOML syntax error (message and span).
    pub fn parse(text: &str) -> Result<Self, TomlError> {
        let doc = ImDocument::parse(text)?;
        let mut map = Self::default();
        map.add_table(doc.as_table(), "");
        Ok(map)
    }

    fn add_table(&mut self, table: &Table, path: &str) {
        for (key, item) in table.iter() {
            let child = child_key(path, key);
            self.entries.push((child.clone(), item.span()));
            self.add_item(item, &child);
        }
    }

    fn add_item(&mut self, item: &Item, path: &str) {
        match item {
            Item::None => {}
            Item::Value(value) => self.add_value(value, path),
            Item::Table(table) => self.add_table(table, path),
            Item::ArrayOfTables(tables) => {
                for (i, table) in tables.iter().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.entries.push((child.clone(), table.span()));
                    self.add_table(table, &child);
                }
            }
        }
    }

    fn add_value(&mut self, value: &Value, path: &str) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.entries.push((child.clone(), item.span()));
                    self.add_value(item, &child);
                }
            }
            Value::InlineTable(table) => {
                for (key, item) in table.iter() {
                    let child = child_key(path, key);
                    self.entries.push((child.clone(), item.span()));
                    self.add_value(item, &child);
                }
            }
            _ => {}
        }
    }

    /// The span of the value at `path`, if the path is in the file and its span known.
    pub fn span_of(&self, path: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, span)| span.clone())
    }

    /// The path of the innermost value whose span holds `span` (an exact match first).
    fn innermost(&self, span: &Range<usize>) -> Option<&str> {
        if let Some((path, _)) = self.entries.iter().find(|(_, s)| s.as_ref() == Some(span)) {
            return Some(path);
        }
        self.entries
            .iter()
            .filter_map(|(path, s)| s.as_ref().map(|s| (path, s)))
            .filter(|(_, s)| s.start <= span.start && span.end <= s.end)
            .min_by_key(|(_, s)| s.end - s.start)
            .map(|(path, _)| path.as_str())
    }

    /// The path of the key named `name` nearest to `span` (the span `toml` gives an unknown
    /// key is the key itself; its value starts just after it).
    fn nearest_named(&self, name: &str, span: Option<&Range<usize>>) -> Option<&str> {
        let named = |path: &str| {
            path == name
                || path
                    .strip_suffix(name)
                    .is_some_and(|head| head.ends_with('.'))
        };
        let candidates = self.entries.iter().filter(|(p, _)| named(p));
        match span {
            Some(at) => candidates
                .min_by_key(|(_, s)| s.as_ref().map_or(usize::MAX, |s| s.start.abs_diff(at.end)))
                .map(|(p, _)| p.as_str()),
            None => candidates.map(|(p, _)| p.as_str()).next(),
        }
    }
}

/// `key` inside the table at `path` (`""`: the top level).
fn child_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The text between the first pair of backticks in `message` (serde names fields that way).
fn backticked(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once('`')?;
    let (name, _) = rest.split_once('`')?;
    Some(name)
}

/// One line, for a reason.
fn one_line(message: &str) -> String {
    message
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A best guess at the key on `line` (from 1) of `text`: the last table header above it and
/// the key the line assigns, e.g. `instruments[1].tick_size`. Array-of-tables headers are
/// numbered by how many times they appeared. Used where `toml` cannot say (syntax errors).
pub(crate) fn guess_key(text: &str, line: usize) -> String {
    let mut table = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let upto = line.saturating_sub(1).min(lines.len());
    // Headers up to and including the error line (an error in a header names that table).
    for l in lines.get(..=upto).or(lines.get(..upto)).unwrap_or_default() {
        let t = l.trim();
        if let Some(rest) = t.strip_prefix("[[") {
            if let Some((name, _)) = rest.split_once("]]") {
                let name = name.trim().to_owned();
                let n = counts.entry(name.clone()).or_insert(0);
                table = format!("{name}[{n}]");
                *n += 1;
            }
        } else if let Some(rest) = t.strip_prefix('[') {
            if let Some((name, _)) = rest.split_once(']') {
                table = name.trim().to_owned();
            }
        }
    }
    let key = lines
        .get(upto)
        .filter(|l| !l.trim_start().starts_with('['))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        });
    match (table.is_empty(), key) {
        (true, Some(k)) => k.to_owned(),
        (false, Some(k)) => format!("{table}.{k}"),
        (false, None) => table,
        (true, None) => "(top level)".to_owned(),
    }
}

/// A TOML syntax error as an issue, and where it is.
pub(crate) fn syntax_issue(text: &str, err: &TomlError) -> (Issue, Option<Location>) {
    let location = err.span().map(|s| Location::of_offset(text, s.start));
    let key = location.map_or_else(|| "(top level)".to_owned(), |l| guess_key(text, l.line));
    let issue = Issue {
        kind: ConfigErrorKind::Syntax,
        key,
        reason: format!("invalid TOML: {}", one_line(err.message())),
    };
    (issue, location)
}

/// A schema error from deserializing the raw config (unknown key, missing key, wrong type,
/// bad value) as an issue naming the full key path, and where it is.
pub(crate) fn schema_issue(
    text: &str,
    keys: &KeyMap,
    err: &toml::de::Error,
) -> (Issue, Option<Location>) {
    let message = one_line(err.message());
    let span = err.span();
    let location = span.as_ref().map(|s| Location::of_offset(text, s.start));
    let fallback = || location.map_or_else(String::new, |l| guess_key(text, l.line));
    let join = |parent: &str, name: &str| {
        if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    };
    let issue = if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = backticked(rest).unwrap_or_default();
        let key = keys
            .nearest_named(name, span.as_ref())
            .map_or_else(|| name.to_owned(), str::to_owned);
        let expected = rest
            .split_once(", ")
            .map_or(String::new(), |(_, e)| format!(", {e}"));
        Issue::unknown(key, format!("unknown key{expected}"))
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        let name = backticked(rest).unwrap_or_default();
        // The span is the table that lacks the key (its header, or the whole inline table);
        // for the top-level table it is empty or the whole text, which no entry matches.
        let parent = span
            .as_ref()
            .filter(|s| s.start < s.end)
            .and_then(|s| keys.innermost(s))
            .map_or_else(String::new, str::to_owned);
        Issue::missing(join(&parent, name), "missing required key")
    } else {
        let key = span
            .as_ref()
            .and_then(|s| keys.innermost(s))
            .map_or_else(fallback, str::to_owned);
        let kind = if message.starts_with("invalid type") {
            ConfigErrorKind::WrongType
        } else {
            ConfigErrorKind::InvalidValue
        };
        Issue {
            kind,
            key: if key.is_empty() {
                "(top level)".to_owned()
            } else {
                key
            },
            reason: message,
        }
    };
    (issue, location)
}
