//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), which cannot reach the crate's
//! private store code any other way.
//!
//! Not a supported API: hidden from the documentation, free to change with any commit, and
//! called by nothing in the product. Each function runs code the store runs on the bytes of
//! its file, so that a fuzzer can feed that code arbitrary bytes.

use std::ops::Bound;

use redb::TableHandle;

use crate::store::codec;
use crate::store::records::{RecordVisitor, visit_every_record};
use crate::store::{Record, tables};
use crate::{Crm, Result, View};

/// Decodes `bytes` as each record type the store keeps (the one-byte version tag, then
/// bincode; older versions through their upgrade). Decoding must fail with an error or give
/// a value; it must never panic. Every value that decodes is encoded again, decoded again and
/// encoded once more: both encodings must be equal, or the value would not read back as it
/// was written.
///
/// Returns the number of record types the bytes decoded as. Pure computation on `bytes`; no
/// store is involved.
///
/// # Errors
/// A sentence naming the record type whose decoded value did not survive the round trip (a
/// bug the fuzz target reports).
pub fn decode_every_record(bytes: &[u8]) -> std::result::Result<usize, String> {
    let mut check = RoundTrip {
        bytes,
        decoded: 0,
        failure: None,
    };
    visit_every_record(&mut check);
    match check.failure {
        Some(failure) => Err(failure),
        None => Ok(check.decoded),
    }
}

/// Up to `per_table` stored values of each table of `crm`, in key order, with the table's
/// name: seeds for a fuzz target, taken from a store the product wrote. Index tables hold
/// empty values and give none. Reads one snapshot.
///
/// # Errors
/// Storage.
pub fn stored_values(crm: &Crm, per_table: usize) -> Result<Vec<(&'static str, Vec<u8>)>> {
    crm.read(|view| {
        let mut values = Vec::new();
        for def in tables::ALL {
            let mut taken = 0;
            view.scan(
                *def,
                (Bound::Unbounded, Bound::Unbounded),
                false,
                |_, value| {
                    if !value.is_empty() {
                        values.push((def.name(), value.to_vec()));
                        taken += 1;
                    }
                    Ok(taken < per_table)
                },
            )?;
        }
        Ok(values)
    })
}

struct RoundTrip<'a> {
    bytes: &'a [u8],
    decoded: usize,
    failure: Option<String>,
}

impl RecordVisitor for RoundTrip<'_> {
    fn visit<T: Record>(&mut self) {
        let Ok(value) = codec::decode::<T>(self.bytes) else {
            return;
        };
        self.decoded += 1;
        if let Err(problem) = round_trip(&value) {
            self.failure
                .get_or_insert_with(|| format!("{} record: {problem}", T::NAME));
        }
    }
}

/// Encode, decode, encode: the two encodings must be equal.
fn round_trip<T: Record>(value: &T) -> std::result::Result<(), String> {
    let first = codec::encode(value)
        .map_err(|error| format!("a decoded value does not encode: {error}"))?;
    let again = codec::decode::<T>(&first)
        .map_err(|error| format!("the encoding of a decoded value does not decode: {error}"))?;
    let second = codec::encode(&again)
        .map_err(|error| format!("a value decoded twice does not encode: {error}"))?;
    if first == second {
        Ok(())
    } else {
        Err("encoding, decoding and encoding again gives other bytes".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_written_by_the_store_decodes_and_round_trips() {
        let marker = crate::model::Marker {
            id: crate::model::MarkerId(3),
            name: "Rust".into(),
            color: "#dea584".into(),
        };
        let bytes = codec::encode(&marker).unwrap();
        assert!(decode_every_record(&bytes).unwrap() >= 1);
    }

    #[test]
    fn empty_and_unknown_bytes_decode_as_nothing() {
        assert_eq!(decode_every_record(&[]), Ok(0));
        assert_eq!(decode_every_record(&[0xff, 1, 2, 3]), Ok(0));
    }

    #[test]
    fn the_values_of_a_new_store_are_records_that_decode() {
        let dir = tempfile::tempdir().unwrap();
        let crm = Crm::open(dir.path().join("crm.redb")).unwrap();
        crm.system()
            .create_organization("studio", "Acme", "acme")
            .unwrap();
        let values = stored_values(&crm, 3).unwrap();
        assert!(
            values.iter().any(|(table, _)| *table == "orgs"),
            "{values:?}"
        );
        for (table, value) in values.iter().filter(|(table, _)| *table == "orgs") {
            assert_eq!(decode_every_record(value), Ok(1), "{table}");
        }
    }
}
