//! A string that never shows itself: token secrets, passwords, tickets.
//!
//! Not the `secrecy` crate: what matters here is that a secret never reaches output, errors,
//! traces or `Debug`, which this type guarantees (and tests) in a few lines. `secrecy` adds
//! zeroing on drop, which would not hold anyway: the secret is also copied into HTTP headers,
//! form bodies and the configuration file's own structs, none of which are zeroed.

use std::fmt;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("0f6b1c2e-aaaa");
        assert_eq!(format!("{s:?} {s}"), "(redacted) (redacted)");
        assert_eq!(s.expose(), "0f6b1c2e-aaaa");
    }
}
