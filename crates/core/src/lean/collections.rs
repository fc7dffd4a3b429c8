//! Collections with less code than std's:
//!
//! - [`SortedSet`]: each `BTreeSet` element type instantiates several KB of B-tree code
//!   (insert, rebalancing, iteration, drop, clone). The small sets on the device (removed
//!   interests, one day's items and pairs) are a sorted `Vec` with binary search instead.
//! - [`SortedMap`]: the same for `BTreeMap`, whose insert, lookup, iteration and drop cost a
//!   few KB per key/value pair. The shared model's maps are built once (from a sorted model,
//!   usually) and then only read, which a sorted `Vec` does as well in less code.
//! - [`HashMap`], [`HashSet`]: std's maps with FxHash instead of SipHash.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use super::sort_by;

/// The hash maps of the engine's own state (catalog ids, history, profile, vocabulary) use
/// rustc's FxHash. std's SipHash-1-3 defends against hash flooding, which these maps do not
/// face (their keys come from the shop's catalog and the shopper's own behaviour), and cost
/// 1 KB of gzipped wasm (foldhash, tried too, was larger still: its 128-bit multiplies are
/// library calls on wasm32). The server's aggregation maps, whose keys untrusted clients
/// choose, keep std's randomly keyed hasher.
pub type HashMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;
/// See [`HashMap`].
pub type HashSet<T> = std::collections::HashSet<T, rustc_hash::FxBuildHasher>;

/// A set kept as a sorted, duplicate-free `Vec`: O(log n) lookups, O(n) inserts, which is
/// right for the few dozen to few hundred elements it holds. Iterates in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedSet<T>(Vec<T>);

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet(Vec::new())
    }
}

impl<T: Ord> SortedSet<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`; false when it was already there.
    pub fn insert(&mut self, value: T) -> bool {
        match self.0.binary_search(&value) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, value);
                true
            }
        }
    }

    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.binary_search_by(|x| x.borrow().cmp(value)).is_ok()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// The elements in ascending order.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
}

impl<T: Ord> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v: Vec<T> = iter.into_iter().collect();
        sort_by(&mut v, |a, b| a < b);
        v.dedup();
        SortedSet(v)
    }
}

impl<T: Ord> Extend<T> for SortedSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for value in iter {
            self.insert(value);
        }
    }
}

/// Serialized as a sequence in ascending order (what a `BTreeSet` writes).
impl<T: Serialize> Serialize for SortedSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl<'a, T> IntoIterator for &'a SortedSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A map kept as a `Vec` of entries sorted by key, each key once: O(log n) lookups, O(n)
/// inserts, O(n log n) to build from an iterator (O(n) when the entries come sorted, as they do
/// from a served model). Iterates in key order and serializes exactly like a `BTreeMap`.
#[derive(Clone, PartialEq, Eq)]
pub struct SortedMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap(Vec::new())
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sorts `entries` by key, keeping the last value given for a repeated key (like
    /// `BTreeMap`'s `collect`).
    fn from_vec(mut entries: Vec<(K, V)>) -> Self {
        if entries.windows(2).any(|w| w[0].0 >= w[1].0) {
            // Heapsort is not stable: order equal keys by position, latest first, so that the
            // dedup (which keeps the first of a run) keeps the last value.
            let mut at: Vec<(usize, (K, V))> = entries.into_iter().enumerate().collect();
            sort_by(&mut at, |(i, (a, _)), (j, (b, _))| {
                a.cmp(b).then(j.cmp(i)).is_lt()
            });
            at.dedup_by(|(_, (a, _)), (_, (b, _))| a == b);
            entries = at.into_iter().map(|(_, entry)| entry).collect();
        }
        SortedMap(entries)
    }

    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            Err(at) => {
                self.0.insert(at, (key, value));
                None
            }
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|at| &self.0[at].1)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|at| &mut self.0[at].1)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).ok().map(|at| self.0.remove(at).1)
    }

    /// Keeps the entries for which `keep` is true (in key order).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.0.retain_mut(|(k, v)| keep(k, v));
    }
}

impl<K, V> SortedMap<K, V> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter(self.0.iter())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> + '_ {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

/// Iterator over a [`SortedMap`]'s entries in key order.
#[derive(Debug, Clone)]
pub struct Iter<'a, K, V>(std::slice::Iter<'a, (K, V)>);

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K, Q, V> std::ops::Index<&Q> for SortedMap<K, V>
where
    K: Borrow<Q> + Ord,
    Q: Ord + ?Sized,
{
    type Output = V;
    /// Panics when `key` is missing, like `BTreeMap`'s.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_vec(iter.into_iter().collect())
    }
}

impl<K: Ord, V> Extend<(K, V)> for SortedMap<K, V> {
    /// New values replace existing ones; one sort for the lot rather than an insert each.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let mut entries = std::mem::take(&mut self.0);
        entries.extend(iter);
        *self = Self::from_vec(entries);
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A map of keys in order, as serde writes a `BTreeMap`.
impl<K: Serialize, V: Serialize> Serialize for SortedMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Any map, sorted on arrival; a repeated key keeps its last value, as serde's `BTreeMap`
/// does (and with the same "expected a map" in errors).
impl<'de, K, V> Deserialize<'de> for SortedMap<K, V>
where
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(PhantomData<(K, V)>);
        impl<'de, K, V> Visitor<'de> for Entries<K, V>
        where
            K: Deserialize<'de> + Ord,
            V: Deserialize<'de>,
        {
            type Value = SortedMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(SortedMap::from_vec(entries))
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_set_behaves_like_btreeset() {
        let mut seed = 5u64;
        let mut set = SortedSet::new();
        let mut reference = std::collections::BTreeSet::new();
        for _ in 0..500 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (seed >> 40) % 97;
            assert_eq!(set.insert(v), reference.insert(v));
            assert_eq!(set.contains(&(v / 2)), reference.contains(&(v / 2)));
        }
        assert!(set.iter().eq(reference.iter()));
        assert_eq!(set.len(), reference.len());
        let collected: SortedSet<u64> = [3, 1, 3, 2, 1].into_iter().collect();
        assert_eq!(collected.as_slice(), &[1, 2, 3]);
        let mut extended = collected.clone();
        extended.extend([0, 2, 9]);
        assert_eq!(extended.as_slice(), &[0, 1, 2, 3, 9]);
        let words: SortedSet<String> = ["b".to_owned(), "a".to_owned()].into_iter().collect();
        assert!(words.contains("a") && !words.contains("c"));
    }

    #[test]
    fn sorted_map_behaves_like_btreemap() {
        use std::collections::BTreeMap;
        let mut seed = 9u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 40
        };
        let mut map = SortedMap::new();
        let mut reference = BTreeMap::new();
        for step in 0..2000u64 {
            let k = next() % 89;
            match next() % 4 {
                0 | 1 => assert_eq!(map.insert(k, step), reference.insert(k, step)),
                2 => assert_eq!(map.remove(&k), reference.remove(&k)),
                _ => {
                    if let Some(v) = map.get_mut(&k) {
                        *v += 1;
                    }
                    if let Some(v) = reference.get_mut(&k) {
                        *v += 1;
                    }
                }
            }
            let probe = next() % 89;
            assert_eq!(map.get(&probe), reference.get(&probe));
            assert_eq!(map.contains_key(&probe), reference.contains_key(&probe));
            assert_eq!(map.len(), reference.len());
        }
        assert!(map.iter().eq(reference.iter()));
        assert!(map.keys().eq(reference.keys()));
        assert!(map.values().eq(reference.values()));
        assert!(map.iter().rev().eq(reference.iter().rev()));
        assert_eq!(format!("{map:?}"), format!("{reference:?}"));

        // Bulk building keeps the last value of a repeated key, as BTreeMap's collect does.
        for n in [0usize, 1, 2, 7, 50, 300] {
            let entries: Vec<(u64, u64)> = (0..n).map(|i| (next() % 23, i as u64)).collect();
            let ours: SortedMap<u64, u64> = entries.iter().copied().collect();
            let theirs: BTreeMap<u64, u64> = entries.iter().copied().collect();
            assert!(ours.clone().into_iter().eq(theirs.clone()), "{entries:?}");
            let mut extended = ours;
            let mut reference = theirs;
            let more: Vec<(u64, u64)> =
                (0..n / 3).map(|i| (next() % 29, 1000 + i as u64)).collect();
            extended.extend(more.iter().copied());
            reference.extend(more.iter().copied());
            assert!(extended.iter().eq(reference.iter()), "{more:?}");
        }
        let sorted: SortedMap<u32, char> = [(1, 'a'), (2, 'b'), (3, 'c')].into_iter().collect();
        assert_eq!(sorted[&2], 'b');
        let words: SortedMap<String, u32> = [("b".to_owned(), 1), ("a".to_owned(), 2)]
            .into_iter()
            .collect();
        assert_eq!(words["a"], 2);
        assert!(words.contains_key("b") && !words.contains_key("c"));
        assert!(SortedMap::<u8, u8>::default().is_empty());
    }

    #[test]
    fn sorted_map_serializes_like_btreemap() {
        use std::collections::BTreeMap;
        let entries = [
            ("tea", 0.25f32),
            ("mug", 1.0),
            ("é", 0.5),
            ("Z", 0.0),
            ("10", 0.75),
        ];
        let ours: SortedMap<String, f32> =
            entries.iter().map(|&(k, v)| (k.to_owned(), v)).collect();
        let theirs: BTreeMap<String, f32> =
            entries.iter().map(|&(k, v)| (k.to_owned(), v)).collect();
        let json = serde_json::to_string(&ours).unwrap();
        assert_eq!(json, serde_json::to_string(&theirs).unwrap());
        assert_eq!(
            serde_json::to_string_pretty(&ours).unwrap(),
            serde_json::to_string_pretty(&theirs).unwrap()
        );
        assert_eq!(
            serde_json::from_str::<SortedMap<String, f32>>(&json).unwrap(),
            ours
        );
        let empty = SortedMap::<String, Vec<u8>>::new();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");

        // Unsorted input and repeated keys read as serde reads a BTreeMap: sorted, last wins.
        let messy = r#"{"b":[1],"a":[2],"b":[3],"c":[],"a":[4]}"#;
        let ours: SortedMap<String, Vec<u8>> = serde_json::from_str(messy).unwrap();
        let theirs: BTreeMap<String, Vec<u8>> = serde_json::from_str(messy).unwrap();
        assert!(ours.iter().eq(theirs.iter()));
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap()
        );
        // Same errors for what is not a map.
        for bad in ["[1]", "3", r#"{"a":"x"}"#, "{"] {
            let ours = serde_json::from_str::<SortedMap<String, f32>>(bad).unwrap_err();
            let theirs = serde_json::from_str::<BTreeMap<String, f32>>(bad).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string(), "{bad}");
        }
    }
}
