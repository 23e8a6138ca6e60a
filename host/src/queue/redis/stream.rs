//! Parsing the replies of the stream commands (XRANGE, XREADGROUP,
//! XAUTOCLAIM) into entries.

use redis::Value;

/// A stream entry: its id and its fields.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// Stream entries `[[id, [field, value, ...]], ...]` as (id, fields).
/// Entries deleted while pending come back with nil fields and are skipped.
pub fn parse_entries(value: &Value) -> Vec<StreamEntry> {
    let Value::Array(entries) = value else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| {
            let Value::Array(parts) = entry else {
                return None;
            };
            let id = bytes_of(parts.first()?).map(|b| String::from_utf8_lossy(&b).into_owned())?;
            let Value::Array(flat) = parts.get(1)? else {
                return None;
            };
            let fields = flat
                .chunks(2)
                .filter_map(|kv| {
                    let k = bytes_of(kv.first()?)?;
                    let v = bytes_of(kv.get(1)?)?;
                    Some((String::from_utf8_lossy(&k).into_owned(), v))
                })
                .collect();
            Some((id, fields))
        })
        .collect()
}

fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

pub fn field_str(fields: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_stream_entries_and_skips_deleted_ones() {
        let v = Value::Array(vec![
            Value::Array(vec![
                bulk("1-0"),
                Value::Array(vec![bulk("job"), bulk("{}"), bulk("attempts"), bulk("3")]),
            ]),
            Value::Array(vec![bulk("2-0"), Value::Nil]),
        ]);
        let parsed = parse_entries(&v);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, "1-0");
        assert_eq!(field_str(&parsed[0].1, "attempts").as_deref(), Some("3"));
        assert_eq!(field_str(&parsed[0].1, "job").as_deref(), Some("{}"));
    }

    #[test]
    fn parses_nothing_from_nil() {
        assert!(parse_entries(&Value::Nil).is_empty());
    }
}
