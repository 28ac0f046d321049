//! The record codec: a one-byte version tag followed by bincode (standard configuration).
//!
//! This is the only module that names bincode (2.0.1 is pinned: 3.0.0 is an empty tombstone),
//! so the format can be swapped in one place. Each record type declares its current version;
//! bytes of an older version are decoded through the type's `upgrade`, which is how a
//! database written by an older release stays readable until the schema migration rewrites
//! it.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Error, Result};

/// A value stored through the codec.
pub(crate) trait Record: Serialize + DeserializeOwned {
    /// The version written today.
    const VERSION: u8;
    /// The record's name in error messages.
    const NAME: &'static str;

    /// Decodes bytes of an older `version`. The default knows no older versions.
    fn upgrade(version: u8, _body: &[u8]) -> Result<Self> {
        Err(Error::corrupt(format!(
            "{} record has unknown version {version}",
            Self::NAME
        )))
    }
}

/// The largest record the codec decodes (64 MiB): a corrupt length prefix can never make it
/// allocate more.
const RECORD_LIMIT: usize = 64 * 1024 * 1024;

fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<RECORD_LIMIT>,
> {
    bincode::config::standard().with_limit::<RECORD_LIMIT>()
}

/// Encodes `value` with its version tag.
pub(crate) fn encode<T: Record>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = vec![T::VERSION];
    bincode::serde::encode_into_std_write(value, &mut bytes, config())
        .map_err(|error| Error::storage(format!("cannot encode {} record", T::NAME), error))?;
    Ok(bytes)
}

/// Decodes bytes written by [`encode`] of this or an older version.
pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| Error::corrupt(format!("empty {} record", T::NAME)))?;
    if version == T::VERSION {
        decode_body(body, T::NAME)
    } else {
        T::upgrade(version, body)
    }
}

/// Decodes an untagged bincode body, checking that every byte was used.
pub(crate) fn decode_body<T: DeserializeOwned>(body: &[u8], name: &str) -> Result<T> {
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|error| Error::storage(format!("cannot decode {name} record"), error))?;
    if used != body.len() {
        return Err(Error::corrupt(format!(
            "{name} record has {} trailing bytes",
            body.len() - used
        )));
    }
    Ok(value)
}

/// Encodes an untagged body (for writing records of an older version in tests and fixtures).
pub(crate) fn encode_body<T: Serialize>(value: &T, version: u8, name: &str) -> Result<Vec<u8>> {
    let mut bytes = vec![version];
    bincode::serde::encode_into_std_write(value, &mut bytes, config())
        .map_err(|error| Error::storage(format!("cannot encode {name} record"), error))?;
    Ok(bytes)
}
