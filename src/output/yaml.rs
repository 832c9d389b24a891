//! `-o yaml`: JSON values written as block-style YAML. Strings that a YAML reader could take for
//! something else (a number, `yes`, `null`, a key, a comment) are written as JSON strings, which
//! YAML reads as double-quoted scalars, so the value read back is exactly the value written.

use std::fmt::Write;

use serde_json::Value;

/// The whole document, ending in a newline.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Array(items) if !items.is_empty() => seq(&mut out, items, 0),
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let mut first = true;
    for (k, v) in map {
        // The first key of a sequence item sits on the `- ` line.
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str(&string(k));
        out.push(':');
        value_after_key(out, v, indent);
    }
}

fn seq(out: &mut String, items: &[Value], indent: usize) {
    let mut first = true;
    for v in items {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => mapping(out, m, indent + 2),
            Value::Array(a) if !a.is_empty() => seq(out, a, indent + 2),
            scalar => {
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
    }
}

fn value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            mapping(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent);
            seq(out, a, indent);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string plain when YAML reads it back as the same string, else JSON-quoted.
fn string(s: &str) -> String {
    if plain_is_safe(s) {
        return s.to_string();
    }
    let mut quoted = String::with_capacity(s.len() + 2);
    // A JSON string is a valid YAML double-quoted scalar.
    let _ = write!(quoted, "{}", Value::String(s.to_string()));
    quoted
}

fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A leading digit may make a number, a date or a time (YAML 1.1 has many): always quoted.
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_') {
        return false;
    }
    if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ._-/:@=+,()".contains(c))
    {
        return false;
    }
    // Words and numbers YAML 1.1 or 1.2 readers turn into something else.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
    ) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks() {
        let v = json!([
            {"vmid": 100, "name": "web", "tags": ["a", "b"], "ha": {"managed": 0}, "empty": {}},
            {"vmid": 101, "name": "yes", "note": "a: b", "n": null, "list": []}
        ]);
        assert_eq!(
            to_string(&v),
            // Keys in serde_json's order (sorted).
            "- empty: {}\n  ha:\n    managed: 0\n  name: web\n  tags:\n  - a\n  - b\n  vmid: 100\n\
             - list: []\n  \"n\": null\n  name: \"yes\"\n  note: \"a: b\"\n  vmid: 101\n"
        );
    }

    #[test]
    fn quoting() {
        for (s, plain) in [
            ("web-1", true),
            ("local:backup/vzdump-qemu-100.vma.zst", true),
            (
                "UPID:pve1:000A1B2C:00C3D4E5:65A1B2C3:qmstart:100:root@pam:",
                false,
            ),
            ("2026-12-01T09:14:03+01:00", false),
            ("100", false),
            ("1e5", false),
            ("0x1F", false),
            ("", false),
            ("NO", false),
            ("-x", false),
            ("a #b", false),
            ("line\nbreak", false),
            ("virtio=BC:24:11:00:00:01,bridge=vmbr0", true),
        ] {
            assert_eq!(plain_is_safe(s), plain, "{s}");
        }
        assert_eq!(string("line\nbreak"), "\"line\\nbreak\"");
    }

    #[test]
    fn scalars_and_nesting() {
        assert_eq!(to_string(&json!("x")), "x\n");
        assert_eq!(to_string(&json!([])), "[]\n");
        assert_eq!(
            to_string(&json!({"a": [[1, 2], {"b": 1}]})),
            "a:\n- - 1\n  - 2\n- b: 1\n"
        );
    }
}
