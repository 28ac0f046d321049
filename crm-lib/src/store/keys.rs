//! Key encoding: big-endian, fixed width, so byte order is numeric order.

use crate::model::OrgId;

/// A key under construction. Integers are appended big-endian; signed integers get their sign
/// bit flipped so that negative values sort before positive ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Key(Vec<u8>);

impl Key {
    /// A key that starts with the organization id, as every tenant key does.
    pub(crate) fn org(org: OrgId) -> Self {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&org.0.to_be_bytes());
        Key(bytes)
    }

    /// An empty key (for global tables).
    pub(crate) fn empty() -> Self {
        Key(Vec::with_capacity(32))
    }

    pub(crate) fn u64(mut self, value: u64) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u32(mut self, value: u32) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u16(mut self, value: u16) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u8(mut self, value: u8) -> Self {
        self.0.push(value);
        self
    }

    pub(crate) fn i64(mut self, value: i64) -> Self {
        self.0
            .extend_from_slice(&((value as u64) ^ (1 << 63)).to_be_bytes());
        self
    }

    /// Raw bytes; use only as the last part or with a terminator, or the order breaks.
    pub(crate) fn bytes(mut self, value: &[u8]) -> Self {
        self.0.extend_from_slice(value);
        self
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

/// Reads a big-endian u64 at `at`; a short key reads as 0 (never the case for keys this module
/// wrote, and `crm verify` reports keys of the wrong length).
pub(crate) fn read_u64(key: &[u8], at: usize) -> u64 {
    key.get(at..at + 8)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
}

/// Reads a big-endian u16 at `at`.
pub(crate) fn read_u16(key: &[u8], at: usize) -> u16 {
    key.get(at..at + 2)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u16::from_be_bytes)
        .unwrap_or(0)
}

/// Reads a sign-flipped big-endian i64 at `at`.
pub(crate) fn read_i64(key: &[u8], at: usize) -> i64 {
    (read_u64(key, at) ^ (1 << 63)) as i64
}

/// The last 8 bytes of a key as a big-endian u64: the record id of an index entry.
pub(crate) fn tail_u64(key: &[u8]) -> u64 {
    read_u64(key, key.len().saturating_sub(8))
}

/// Lower-case hex of a key or hash, for problem sentences.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The smallest key greater than every key starting with `prefix`, or `None` when the prefix
/// is all 0xff (then the range is open-ended).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Lower-cased words of a title, for the word index: runs of letters and digits, 2 to 32
/// bytes, deduplicated.
pub(crate) fn title_words(title: &str) -> Vec<String> {
    let mut words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|word| word.chars().count() >= 2)
        .map(|word| truncate_bytes(word, 32))
        .collect();
    words.sort();
    words.dedup();
    words
}

fn truncate_bytes(mut word: String, max: usize) -> String {
    if word.len() > max {
        let mut end = max;
        while !word.is_char_boundary(end) {
            end -= 1;
        }
        word.truncate(end);
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_keys_sort_numerically() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let keys: Vec<Vec<u8>> = values
            .iter()
            .map(|v| Key::empty().i64(*v).into_vec())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(read_i64(&keys[1], 0), -5);
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }

    #[test]
    fn title_words_are_lowercased_and_deduplicated() {
        assert_eq!(
            title_words("Telegram-бот для Бот магазина, v2"),
            ["telegram", "v2", "бот", "для", "магазина"]
        );
    }
}
