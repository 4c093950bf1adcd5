//! A small, fast, non-cryptographic hasher (the "Fx" hash used by rustc) for the model's lookup
//! tables. Keys are trusted, generated names, so HashDoS resistance is not needed; speed is.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hash map using [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The Fx hasher: rotate, xor, multiply, one machine word at a time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_round_trip_and_distinct_hashes() {
        let mut m: FxHashMap<Box<str>, u32> = FxHashMap::default();
        for (i, k) in ["a", "ab", "value", "valueQuantity", "valueQuantitz", ""]
            .iter()
            .enumerate()
        {
            m.insert((*k).into(), i as u32);
        }
        assert_eq!(m.get("valueQuantity"), Some(&3));
        assert_eq!(m.get("valueQuantitz"), Some(&4));
        assert_eq!(m.get(""), Some(&5));
        assert_eq!(m.get("x"), None);
        let h = |s: &str| {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_ne!(h("valueQuantity"), h("valueQuantitz"));
    }
}
