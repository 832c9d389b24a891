//! Lenient decoders for PVE's loosely typed JSON: booleans as 0/1/true/false, numbers that may
//! arrive as strings, keys that may be absent or null.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Fields the CLI does not interpret, kept so `-o json` shows everything PVE sent.
pub type Extra = std::collections::BTreeMap<String, Value>;

pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(number)
        .filter(|n| *n >= 0.0)
        .map(|n| n as u64))
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(number).map(|n| n as i64))
}

pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(number))
}

pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(opt_u64(d)?.and_then(|n| u32::try_from(n).ok()))
}

pub fn u32_req<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = Value::deserialize(d)?;
    number(&v)
        .filter(|n| *n >= 0.0 && *n <= u32::MAX as f64)
        .map(|n| n as u32)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a number, got {v}")))
}

pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(number)
        .map(|n| n != 0.0)
        .unwrap_or(false))
}

/// Any scalar as a string (PVE sends some strings as numbers and vice versa).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// Only the fields `keys` of a JSON object, decoded (the others skipped unparsed): a row of a big
/// list needs a handful of its fields.
pub fn pick(object: &str, keys: &[&str]) -> serde_json::Map<String, Value> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    struct Pick<'k>(&'k [&'k str]);

    impl<'de> Visitor<'de> for Pick<'_> {
        type Value = serde_json::Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if self.0.contains(&key.as_ref()) {
                    out.insert(key.into_owned(), map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }

    impl<'de> DeserializeSeed<'de> for Pick<'_> {
        type Value = serde_json::Map<String, Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    let mut d = serde_json::Deserializer::from_str(object);
    Pick(keys).deserialize(&mut d).unwrap_or_default()
}

/// A boolean written back as PVE writes it: `0` or `1`.
pub(crate) fn ser_flag<S: serde::Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(u8::from(*b))
}

/// A PVE boolean as it comes: `1`/`0`, `"1"`/`"0"`, `true`/`false`; anything else is false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::String(s) if s.trim() == "true" => true,
        other => number(other).is_some_and(|n| n != 0.0),
    }
}

/// A JSON value as text: strings as they are, null as nothing, other values compact.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pick_decodes_only_the_keys_asked_for() {
        let row = pick(
            r#"{"a": 1, "b": {"deep": [1, 2]}, "c": "x"}"#,
            &["a", "c", "z"],
        );
        assert_eq!(Value::Object(row), json!({"a": 1, "c": "x"}));
        assert!(pick("not json", &["a"]).is_empty());
    }

    #[test]
    fn booleans_as_pve_sends_them() {
        for yes in [json!(1), json!("1"), json!(true), json!("true"), json!(2)] {
            assert!(truthy(&yes), "{yes}");
        }
        for no in [
            json!(0),
            json!("0"),
            json!(false),
            json!(null),
            json!("no"),
            json!([]),
        ] {
            assert!(!truthy(&no), "{no}");
        }
    }
}
