//! A heapsort instead of std's sorts: std's instantiate a few KB of wasm per element type and
//! comparator (pattern-defeating quicksort, insertion and heap fallbacks, pivot selection);
//! with a dozen call sites they cost ~40 KB. A heapsort is a few hundred bytes per
//! instantiation and every list sorted on the device is small (top-k results, one item's
//! terms, a profile).

/// Sorts `v` so that no element is `less` than the one before it (unstable, O(n log n)).
///
/// A heapsort over indices behind one `dyn` callback: the sort itself is compiled once, and
/// each call site adds only its small compare-or-swap closure (15 monomorphized copies of the
/// sort were 2.5 KB of wasm).
pub fn sort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    heapsort(n, &mut |i, j, swap| {
        if swap {
            v.swap(i, j);
            false
        } else {
            less(&v[i], &v[j])
        }
    });
}

/// Heapsort of `n` positions through `op(i, j, swap)`: with `swap`, exchange `i` and `j`;
/// without, answer "is `i` less than `j`".
fn heapsort(n: usize, op: &mut dyn FnMut(usize, usize, bool) -> bool) {
    let sift = |mut root: usize, end: usize, op: &mut dyn FnMut(usize, usize, bool) -> bool| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && op(child, child + 1, false) {
            child += 1;
        }
        if !op(root, child, false) {
            return;
        }
        op(root, child, true);
        root = child;
    };
    for i in (0..n / 2).rev() {
        sift(i, n, op);
    }
    for end in (1..n).rev() {
        op(0, end, true);
        sift(0, end, op);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_std() {
        let mut seed = 7u64;
        for n in 0..60 {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 40) as u32 % 17
                })
                .collect();
            let mut expected = v.clone();
            expected.sort_unstable();
            sort_by(&mut v, |a, b| a < b);
            assert_eq!(v, expected);
        }
    }
}
