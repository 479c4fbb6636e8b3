//! Comparing settings field by field, and parsing the flag values that are
//! lists or sizes.

use serde::Serialize;

/// The fields of two values' JSON objects that differ, as `(key, in a, in b)`
/// with None for a field one of them leaves out.
pub(crate) fn differing_fields<T: Serialize>(
    a: &T,
    b: &T,
) -> Vec<(String, Option<serde_json::Value>, Option<serde_json::Value>)> {
    let object = |v: &T| match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (object(a), object(b));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|key| a.get(*key) != b.get(*key))
        .map(|key| (key.clone(), a.get(key).cloned(), b.get(key).cloned()))
        .collect()
}

/// A field of [`differing_fields`] in words.
pub(crate) fn shown(value: Option<serde_json::Value>) -> String {
    value.map_or("(not set)".to_string(), |v| v.to_string())
}

/// Parses `HxW` (such as `28x28`) into `[height, width]`.
pub fn parse_image_size(text: &str) -> std::result::Result<[usize; 2], String> {
    let bad = || format!("'{text}' is not a size; write HxW, such as 28x28");
    let (h, w) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    Ok([
        h.trim().parse().map_err(|_| bad())?,
        w.trim().parse().map_err(|_| bad())?,
    ])
}

/// Parses a list of layer sizes: `400`, `500,500`, or `none` for no layers.
pub fn parse_sizes(text: &str) -> std::result::Result<Vec<usize>, String> {
    if text.trim() == "none" {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("'{text}' is not a list of sizes; write 400 or 500,500 (or none)")
            })
        })
        .collect()
}
