//! Finding keys in the config text: the full dotted path of a TOML or serde error, and the
//! line and column of a key named by a validation error.
//!
//! `toml` reports a byte span and a message, not a key path. So the text is parsed a second
//! time into a tree of every key and array element with its span ([`KeyMap`]); an error's
//! span is then looked up in it. Spans come from `toml`'s span support (what
//! `toml::Spanned` uses), requested through a visitor that also accepts values without a span
//! (tables made implicitly by dotted keys or `[a.b]` headers have none), so building the tree
//! never fails on valid TOML. If the text is not valid TOML, [`guess_key`] reads the key from
//! the text instead: the last table header above the error and the key on its line.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::{ConfigErrorKind, Issue, Location};

// `toml` hands a value's span to a struct with exactly this name and these fields (the
// protocol behind `toml::Spanned`, from `serde_spanned`). Anything else gets the plain value.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];

/// A value: a table, an array or a scalar.
enum Node {
    Table(Vec<(String, Located)>),
    Array(Vec<Located>),
    Leaf,
}

/// A value and its byte span in the text, if `toml` knows it.
struct Located {
    span: Option<Range<usize>>,
    node: Node,
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<Located>()?));
        }
        Ok(Node::Table(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct LocatedVisitor;

impl LocatedVisitor {
    fn bare(node: Node) -> Located {
        Located { span: None, node }
    }
}

impl<'de> Visitor<'de> for LocatedVisitor {
    type Value = Located;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Located, E> {
        Ok(Self::bare(Node::Leaf))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Located, E> {
        Ok(Self::bare(Node::Leaf))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Located, E> {
        Ok(Self::bare(Node::Leaf))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Located, E> {
        Ok(Self::bare(Node::Leaf))
    }

    fn visit_str<E>(self, _: &str) -> Result<Located, E> {
        Ok(Self::bare(Node::Leaf))
    }

    fn visit_unit<E>(self) -> Result<Located, E> {
        Ok(Self::bare(Node::Leaf))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Located, A::Error> {
        NodeVisitor.visit_seq(seq).map(Self::bare)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Self::bare(Node::Table(Vec::new())));
        };
        if first != SPANNED_START {
            // A table without a span: `first` is its first key.
            let mut entries = vec![(first, map.next_value::<Located>()?)];
            while let Some(key) = map.next_key::<String>()? {
                entries.push((key, map.next_value::<Located>()?));
            }
            return Ok(Self::bare(Node::Table(entries)));
        }
        let start: usize = map.next_value()?;
        let mut end = start;
        let mut node = Node::Leaf;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                SPANNED_END => end = map.next_value()?,
                SPANNED_VALUE => node = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Located {
            span: Some(start..end.max(start)),
            node,
        })
    }
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, LocatedVisitor)
    }
}

/// Every key and array element of a document with its full dotted path
/// (`instruments[1].tick_size`) and the byte span of its value, if known.
#[derive(Debug, Default)]
pub(crate) struct KeyMap {
    entries: Vec<(String, Option<Range<usize>>)>,
}

impl KeyMap {
    /// The map of `text`, or the TOML syntax error (message and span).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        let root: Node = toml::from_str(text)?;
        let mut map = Self::default();
        map.add(&root, "");
        Ok(map)
    }

    fn add(&mut self, node: &Node, path: &str) {
        match node {
            Node::Table(entries) => {
                for (key, value) in entries {
                    let child = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.entries.push((child.clone(), value.span.clone()));
                    self.add(&value.node, &child);
                }
            }
            Node::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let child = format!("{path}[{i}]");
                    self.entries.push((child.clone(), item.span.clone()));
                    self.add(&item.node, &child);
                }
            }
            Node::Leaf => {}
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
pub(crate) fn syntax_issue(text: &str, err: &toml::de::Error) -> (Issue, Option<Location>) {
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
