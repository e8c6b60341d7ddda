//! Opaque keyset cursors: the sort key and the row id of the last row seen, tagged with the order
//! they belong to, so a cursor from one order cannot be replayed against another.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::Value;

/// The value of a row's sort key.
#[derive(Clone, Debug, PartialEq)]
pub enum SortKey {
    Int(i64),
    Float(f64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl SortKey {
    pub fn to_value(&self) -> Value {
        match self {
            SortKey::Int(v) => (*v).into(),
            SortKey::Float(v) => (*v).into(),
            SortKey::Date(v) => (*v).into(),
            SortKey::Time(v) => (*v).into(),
        }
    }
}

/// A position in an ordered list: `(order tag, sort key, id)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub tag: String,
    pub key: SortKey,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let key = match &self.key {
            SortKey::Int(v) => format!("i{v}"),
            // The bits, so that the float survives the round trip exactly.
            SortKey::Float(v) => format!("f{:016x}", v.to_bits()),
            SortKey::Date(v) => format!("d{v}"),
            SortKey::Time(v) => format!("t{}", v.timestamp_micros()),
        };
        URL_SAFE_NO_PAD.encode(format!("{}|{key}|{}", self.tag, self.id))
    }

    /// Decodes a cursor made for the order `tag`.
    pub fn decode(s: &str, tag: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a valid cursor for this list; use a cursor from its pageInfo or edges"
            )
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(3, '|');
        let (Some(t), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if t != tag {
            return Err(format!(
                "the cursor `{s}` belongs to another order or list; restart pagination without `after`/`before`"
            ));
        }
        let id: i64 = id.parse().map_err(|_| bad())?;
        let (kind, raw) = key.split_at_checked(1).ok_or_else(bad)?;
        let key = match kind {
            "i" => SortKey::Int(raw.parse().map_err(|_| bad())?),
            "f" => SortKey::Float(f64::from_bits(
                u64::from_str_radix(raw, 16).map_err(|_| bad())?,
            )),
            "d" => SortKey::Date(raw.parse().map_err(|_| bad())?),
            "t" => SortKey::Time(
                DateTime::from_timestamp_micros(raw.parse().map_err(|_| bad())?).ok_or_else(bad)?,
            ),
            _ => return Err(bad()),
        };
        if let SortKey::Float(f) = key
            && !f.is_finite()
        {
            return Err(bad());
        }
        Ok(Self {
            tag: t.to_string(),
            key,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_key_kind() {
        for key in [
            SortKey::Int(-1),
            SortKey::Float(433.123_456_789_012_3),
            SortKey::Date("2026-01-30".parse().unwrap()),
            SortKey::Time(DateTime::from_timestamp_micros(1_769_802_405_578_000).unwrap()),
        ] {
            let c = Cursor {
                tag: "P:UPVOTES".into(),
                key,
                id: 42,
            };
            assert_eq!(Cursor::decode(&c.encode(), "P:UPVOTES").unwrap(), c);
            assert!(Cursor::decode(&c.encode(), "P:TRENDING").is_err());
        }
        for bad in ["", "!!", "YWJj", &URL_SAFE_NO_PAD.encode("P:UPVOTES|x1|2")] {
            assert!(Cursor::decode(bad, "P:UPVOTES").is_err(), "{bad}");
        }
    }
}
