//! Opaque global ids for `Node`: base64url of `Type:key`, where the key is the natural key
//! (arXiv id for papers, name for authors, handle for organizations), so ids stay valid across databases and replicas.
use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::AppError;

#[derive(Debug, PartialEq, Eq)]
pub enum GlobalId {
    Paper(String),
    Author(String),
    Organization(String),
}

impl GlobalId {
    pub fn encode(&self) -> ID {
        let raw = match self {
            GlobalId::Paper(k) => format!("Paper:{k}"),
            GlobalId::Author(k) => format!("Author:{k}"),
            GlobalId::Organization(k) => format!("Organization:{k}"),
        };
        ID(URL_SAFE_NO_PAD.encode(raw))
    }

    pub fn decode(id: &str) -> Result<Self, AppError> {
        let bad = || {
            AppError::bad_input(format!(
                "`{}` is not a papergraph node id; use the `id` field of a Paper, Author or Organization",
                id.chars().take(80).collect::<String>()
            ))
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(id.trim_end_matches('='))
            .map_err(|_| bad())?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        match raw.split_once(':') {
            Some(("Paper", k)) if !k.is_empty() => Ok(GlobalId::Paper(k.to_string())),
            Some(("Author", k)) if !k.is_empty() => Ok(GlobalId::Author(k.to_string())),
            Some(("Organization", k)) if !k.is_empty() => Ok(GlobalId::Organization(k.to_string())),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_reject() {
        for g in [
            GlobalId::Paper("2401.12345".into()),
            GlobalId::Author("Zoë Ça".into()),
            GlobalId::Organization("google".into()),
        ] {
            let id = g.encode();
            assert_eq!(GlobalId::decode(&id).unwrap(), g);
        }
        for bad in ["", "x", "UGFwZXI6", "Zm9vOmJhcg"] {
            assert!(GlobalId::decode(bad).is_err(), "{bad}");
        }
    }
}
