//! Lean stand-ins: routines of std and of crates replaced by smaller code, because their code
//! is large in the browser module, which must stay within 120 KB gzip (`scripts/build-wasm`
//! enforces it). Each stand-in says what it replaced and what it saved; tests check that it
//! behaves like the original. Public because the browser module (`src/`) shares the budget
//! and uses them too.
//!
//! - [`sort_by`]: a heapsort instead of std's sorts (~40 KB with a dozen call sites).
//! - [`SortedSet`], [`SortedMap`]: sorted vectors instead of B-trees; [`HashMap`] and
//!   [`HashSet`] with FxHash instead of SipHash.
//! - [`number`], [`push_json_string`]: message and JSON text without float formatting.
//! - [`crc32`]: the snapshot checksum with one table instead of sixteen.
//! - [`exp2`], [`dot`], [`Matrix`]: numerics without libm's `exp2` table or ndarray.

mod collections;
mod crc32;
mod format;
mod math;
mod sort;

pub use collections::{HashMap, HashSet, Iter, SortedMap, SortedSet};
pub use crc32::crc32;
pub use format::{number, push_json_string};
pub use math::{dot, exp2, Matrix};
pub use sort::sort_by;
