//! Deterministic synthetic catalogs and shoppers for tests, benchmarks and the demo shop.
//! Uses a small SplitMix64 generator: reproducible data, never privacy noise.

use crate::catalog::Item;

/// SplitMix64: tiny, fast, good enough for generating test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const DEPARTMENTS: [(&str, &[&str], &[&str]); 6] = [
    (
        "Home",
        &["Kitchen", "Living Room", "Bedroom", "Garden"],
        &[
            "mug", "teapot", "lamp", "cushion", "vase", "planter", "kettle", "blanket",
        ],
    ),
    (
        "Fashion",
        &["Women", "Men", "Accessories"],
        &[
            "scarf", "jacket", "sneakers", "belt", "hat", "wallet", "dress", "shirt",
        ],
    ),
    (
        "Electronics",
        &["Audio", "Phones", "Computers"],
        &[
            "headphones",
            "speaker",
            "charger",
            "cable",
            "keyboard",
            "mouse",
            "case",
            "adapter",
        ],
    ),
    (
        "Sports",
        &["Running", "Cycling", "Yoga"],
        &[
            "bottle", "mat", "helmet", "gloves", "socks", "shorts", "band", "light",
        ],
    ),
    (
        "Toys",
        &["Puzzles", "Outdoor", "Crafts"],
        &[
            "puzzle", "kite", "crayons", "blocks", "ball", "doll", "robot", "paint",
        ],
    ),
    (
        "Books",
        &["Fiction", "Cooking", "Travel"],
        &[
            "novel", "cookbook", "guide", "atlas", "journal", "diary", "comic", "poems",
        ],
    ),
];
const ADJECTIVES: [&str; 16] = [
    "blue", "red", "green", "vintage", "modern", "classic", "organic", "compact", "deluxe",
    "rustic", "bright", "soft", "wireless", "handmade", "large", "mini",
];
const MATERIALS: [&str; 10] = [
    "ceramic", "wool", "cotton", "steel", "oak", "glass", "leather", "bamboo", "linen", "copper",
];
const BRANDS: [&str; 12] = [
    "Acme",
    "Northwind",
    "Lumen",
    "Fjord",
    "Kestrel",
    "Oakridge",
    "Solace",
    "Tandem",
    "Verve",
    "Willow",
    "Zephyr",
    "Orbit",
];
const TAGS: [&str; 6] = ["sale", "new", "eco", "bestseller", "gift", "limited"];

/// A catalog of `n` items with categories, brands, prices, tags and descriptions; with
/// `embedding_dim > 0` each item also gets an embedding correlated with its category.
pub fn catalog(n: usize, seed: u64, embedding_dim: usize) -> Vec<Item> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            let (dept, subs, nouns) = DEPARTMENTS[rng.below(DEPARTMENTS.len())];
            let sub = *rng.pick(subs);
            let noun = *rng.pick(nouns);
            let adjective = *rng.pick(&ADJECTIVES);
            let material = *rng.pick(&MATERIALS);
            let brand = *rng.pick(&BRANDS);
            let mut item = Item::new(format!("sku-{i}"), format!("{adjective} {material} {noun}"));
            item.categories = vec![format!("{dept} > {sub}")];
            item.brand = Some(brand.to_owned());
            item.price = Some(((rng.unit() * 200.0 + 2.0) * 100.0).round() / 100.0);
            item.available = rng.unit() > 0.1;
            if rng.unit() < 0.3 {
                item.tags = vec![(*rng.pick(&TAGS)).to_owned()];
            }
            item.description = Some(format!(
                "A {adjective} {noun} made of {material} by {brand}, part of our {sub} range. Model {}.",
                rng.below(10_000)
            ));
            if embedding_dim > 0 {
                let dept_index = DEPARTMENTS.iter().position(|d| d.0 == dept).unwrap_or(0);
                item.embedding = Some(
                    (0..embedding_dim)
                        .map(|d| {
                            let base = if d % DEPARTMENTS.len() == dept_index { 1.0 } else { 0.0 };
                            (base + rng.unit() * 0.5 - 0.25) as f32
                        })
                        .collect(),
                );
            }
            item
        })
        .collect()
}

/// The catalog as a JSON array, the shape `load_catalog_json` takes.
pub fn catalog_json(n: usize, seed: u64, embedding_dim: usize) -> String {
    let rows: Vec<serde_json::Value> = catalog(n, seed, embedding_dim)
        .into_iter()
        .map(|it| {
            serde_json::json!({
                "id": it.id, "title": it.title, "description": it.description,
                "categories": it.categories, "brand": it.brand, "price": it.price,
                "available": it.available, "tags": it.tags, "embedding": it.embedding,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid() {
        let a = catalog(50, 7, 8);
        assert_eq!(a, catalog(50, 7, 8));
        let (cat, report) =
            crate::catalog::Catalog::from_json(&catalog_json(50, 7, 8)).expect("valid");
        assert_eq!(report.loaded, 50);
        assert_eq!(cat.embedding_dim(), Some(8));
    }
}
