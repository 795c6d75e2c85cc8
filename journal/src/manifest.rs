//! The run manifest: the first record of every journal (kind [`kind::MANIFEST`], sequence 0).
//!
//! Its payload is UTF-8 text, one `key=value` per line, in the order written, so that any
//! tool can read it. `binary_version` and `config_hash` are always present; a run adds
//! `model_hash` and `layout`.
//!
//! [`kind::MANIFEST`]: crate::format::kind::MANIFEST

/// Ordered key/value pairs describing the run that wrote a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<(String, String)>,
}

/// Keys every manifest carries.
pub const REQUIRED_KEYS: [&str; 2] = ["binary_version", "config_hash"];

impl Manifest {
    /// A manifest with the required keys.
    pub fn new(binary_version: &str, config_hash: &str) -> Self {
        let mut m = Self {
            entries: Vec::new(),
        };
        m.set("binary_version", binary_version);
        m.set("config_hash", config_hash);
        m
    }

    /// Set `key` (replacing an earlier value). Newlines are replaced by spaces and `=` is
    /// not allowed in keys, so that the text form always parses back.
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        let key = key.replace(['=', '\n', '\r'], "_");
        let value = value.replace(['\n', '\r'], " ");
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key, value)),
        }
        self
    }

    /// Builder form of [`Manifest::set`].
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.set(key, value);
        self
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All entries in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::new();
        for (k, v) in &self.entries {
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\n');
        }
        s.into_bytes()
    }

    /// Parse a payload; the error says what is wrong.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(payload).map_err(|e| format!("not UTF-8: {e}"))?;
        let mut m = Self {
            entries: Vec::new(),
        };
        for (n, line) in text.lines().enumerate() {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("line {} has no '=': {line:?}", n + 1))?;
            m.entries.push((k.to_string(), v.to_string()));
        }
        for key in REQUIRED_KEYS {
            if m.get(key).is_none() {
                return Err(format!("required key {key:?} is missing"));
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sanitises() {
        let m = Manifest::new("0.1.0", "abc").with("la=yout", "one\nthread");
        let back = Manifest::decode(&m.encode()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.get("la_yout"), Some("one thread"));
    }

    #[test]
    fn missing_key_is_named() {
        let err = Manifest::decode(b"binary_version=1\n").unwrap_err();
        assert!(err.contains("config_hash"), "{err}");
    }
}
