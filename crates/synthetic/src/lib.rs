//! Deterministic synthetic catalogs for tests, benchmarks and the demo shop, drawn from
//! kindred-core's seeded [`SplitMix64`]: reproducible data, never privacy noise.
//!
//! A crate of its own rather than a module or a feature of kindred-core: demo and test data
//! are not part of the engine. As a feature the generators would stay in the engine's source
//! and be compiled into every build that unifies features with the server (which needs them
//! for the demo shop); as a crate the dependency points one way. kindred-core uses it only as
//! a dev-dependency (its integration tests and benches); the server depends on it for the
//! demo shop's catalog.

use kindred_core::{Item, SplitMix64};
use serde::Serialize;

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

/// Tile colours of the demo shop, `(name, CSS hex)`. The storefront draws a coloured tile
/// instead of a product photo; when a title names a colour, it is the tile's.
pub const DEMO_COLORS: [(&str, &str); 8] = [
    ("Navy", "#1f3a5f"),
    ("Terracotta", "#c8553d"),
    ("Sage", "#7d9d7a"),
    ("Mustard", "#d9a404"),
    ("Charcoal", "#36454f"),
    ("Plum", "#6b3e75"),
    ("Teal", "#1b7f79"),
    ("Coral", "#f28b66"),
];

/// A sub-category of a demo department: its English and Chinese product nouns.
struct DemoSub {
    name: &'static str,
    nouns: &'static [&'static str],
    zh_nouns: &'static [&'static str],
}

/// A demo department. Nouns live on the sub-category so a "Kitchen" product is a kettle and not
/// a lamp; adjectives and materials are per department so titles read like a shop's.
struct DemoDepartment {
    name: &'static str,
    subs: &'static [DemoSub],
    adjectives: &'static [&'static str],
    materials: &'static [&'static str],
    /// Chinese modifiers: few and shared, so that CJK searches ("无线", "陶瓷") find groups.
    zh_adjectives: &'static [&'static str],
    /// A sentence for Chinese descriptions.
    zh_blurbs: &'static [&'static str],
    /// A second sentence for English descriptions.
    blurbs: &'static [&'static str],
    /// Price range in whole currency units.
    price: (u32, u32),
}

/// The demo shop's six departments, the same ones [`catalog`] uses, with shop-like nouns.
const DEMO_DEPARTMENTS: [DemoDepartment; 6] = [
    DemoDepartment {
        name: "Home",
        subs: &[
            DemoSub {
                name: "Kitchen",
                nouns: &["Mug", "Teapot", "Kettle", "Serving Bowl", "Cutting Board"],
                zh_nouns: &["马克杯", "茶壶", "水壶", "餐盘"],
            },
            DemoSub {
                name: "Living Room",
                nouns: &["Table Lamp", "Cushion", "Vase", "Throw", "Rug"],
                zh_nouns: &["台灯", "抱枕", "花瓶", "地毯"],
            },
            DemoSub {
                name: "Bedroom",
                nouns: &["Duvet Cover", "Pillow", "Blanket", "Bedside Lamp"],
                zh_nouns: &["床单", "枕头", "毛毯"],
            },
            DemoSub {
                name: "Garden",
                nouns: &["Planter", "Watering Can", "Bird Feeder", "Garden Gloves"],
                zh_nouns: &["花盆", "浇水壶", "园艺手套"],
            },
        ],
        adjectives: &[
            "Vintage", "Modern", "Rustic", "Nordic", "Handmade", "Classic",
        ],
        materials: &[
            "Ceramic",
            "Oak",
            "Linen",
            "Glass",
            "Copper",
            "Stoneware",
            "Bamboo",
        ],
        zh_adjectives: &["手工", "陶瓷", "北欧", "复古", "简约"],
        zh_blurbs: &[
            "适合日常使用。",
            "简约设计，百搭家居风格。",
            "环保包装，送礼自用皆宜。",
        ],
        blurbs: &[
            "Made to be used every day.",
            "Ships in plastic-free packaging.",
            "Designed in small batches.",
        ],
        price: (8, 180),
    },
    DemoDepartment {
        name: "Fashion",
        subs: &[
            DemoSub {
                name: "Women",
                nouns: &["Dress", "Blouse", "Cardigan", "Skirt"],
                zh_nouns: &["连衣裙", "衬衫", "开衫"],
            },
            DemoSub {
                name: "Men",
                nouns: &["Shirt", "Jacket", "Chinos", "Sweater"],
                zh_nouns: &["夹克", "衬衫", "毛衣"],
            },
            DemoSub {
                name: "Accessories",
                nouns: &["Scarf", "Belt", "Wallet", "Hat", "Tote Bag"],
                zh_nouns: &["围巾", "钱包", "皮带", "帽子"],
            },
        ],
        adjectives: &[
            "Relaxed",
            "Slim",
            "Classic",
            "Oversized",
            "Everyday",
            "Tailored",
        ],
        materials: &["Wool", "Cotton", "Leather", "Linen", "Denim", "Cashmere"],
        zh_adjectives: &["羊毛", "纯棉", "真皮", "修身", "休闲"],
        zh_blurbs: &[
            "舒适透气，四季可穿。",
            "经典版型，百搭实用。",
            "精选面料，做工细致。",
        ],
        blurbs: &[
            "True to size.",
            "Cut for comfort and made to last.",
            "Machine washable at 30 degrees.",
        ],
        price: (15, 250),
    },
    DemoDepartment {
        name: "Electronics",
        subs: &[
            DemoSub {
                name: "Audio",
                nouns: &["Headphones", "Earbuds", "Speaker", "Soundbar"],
                zh_nouns: &["耳机", "蓝牙音箱", "耳塞"],
            },
            DemoSub {
                name: "Phones",
                nouns: &["Phone Case", "Charger", "Power Bank", "Charging Cable"],
                zh_nouns: &["手机壳", "充电器", "充电宝", "数据线"],
            },
            DemoSub {
                name: "Computers",
                nouns: &["Keyboard", "Mouse", "Monitor Stand", "Webcam", "USB Hub"],
                zh_nouns: &["键盘", "鼠标", "显示器支架"],
            },
        ],
        adjectives: &[
            "Wireless",
            "Compact",
            "Portable",
            "Smart",
            "Ergonomic",
            "Pro",
        ],
        materials: &["Aluminium", "Matte", "Fabric", "Recycled", "Carbon"],
        zh_adjectives: &["无线", "降噪", "便携", "快充", "超薄"],
        zh_blurbs: &[
            "续航持久，连接稳定。",
            "即插即用，兼容主流设备。",
            "轻巧便携，出行必备。",
        ],
        blurbs: &[
            "Two-year warranty included.",
            "Works with every major platform.",
            "USB-C, of course.",
        ],
        price: (9, 400),
    },
    DemoDepartment {
        name: "Sports",
        subs: &[
            DemoSub {
                name: "Running",
                nouns: &["Running Shoes", "Shorts", "Socks", "Water Bottle"],
                zh_nouns: &["跑鞋", "运动袜", "运动水壶"],
            },
            DemoSub {
                name: "Cycling",
                nouns: &["Helmet", "Bike Light", "Cycling Gloves", "Saddle Bag"],
                zh_nouns: &["头盔", "车灯", "骑行手套"],
            },
            DemoSub {
                name: "Yoga",
                nouns: &["Yoga Mat", "Yoga Block", "Strap", "Leggings"],
                zh_nouns: &["瑜伽垫", "瑜伽砖", "弹力带"],
            },
        ],
        adjectives: &[
            "Lightweight",
            "Breathable",
            "Reflective",
            "Trail",
            "Performance",
        ],
        materials: &["Mesh", "Merino", "Cork", "Nylon", "Rubber"],
        zh_adjectives: &["轻量", "防滑", "透气", "专业", "速干"],
        zh_blurbs: &["专业设计，训练比赛两相宜。", "轻便耐用，适合户外运动。"],
        blurbs: &[
            "Tested by our own club.",
            "Light enough to forget it is there.",
        ],
        price: (6, 160),
    },
    DemoDepartment {
        name: "Toys",
        subs: &[
            DemoSub {
                name: "Puzzles",
                nouns: &["Jigsaw Puzzle", "Puzzle Box", "Brain Teaser"],
                zh_nouns: &["拼图", "魔方", "积木"],
            },
            DemoSub {
                name: "Outdoor",
                nouns: &["Kite", "Football", "Frisbee", "Water Pistol"],
                zh_nouns: &["风筝", "足球", "飞盘"],
            },
            DemoSub {
                name: "Crafts",
                nouns: &["Crayons", "Paint Set", "Clay Kit", "Sticker Book"],
                zh_nouns: &["蜡笔", "水彩颜料", "黏土"],
            },
        ],
        adjectives: &["Giant", "Mini", "Rainbow", "Classic", "Deluxe"],
        materials: &["Wooden", "Cardboard", "Recycled", "Soft"],
        zh_adjectives: &["儿童", "木质", "彩色", "益智", "创意"],
        zh_blurbs: &[
            "安全环保材料，适合三岁以上儿童。",
            "寓教于乐，亲子互动好帮手。",
        ],
        blurbs: &["For ages 3 and up.", "Hours of screen-free fun."],
        price: (4, 90),
    },
    DemoDepartment {
        name: "Books",
        subs: &[
            DemoSub {
                name: "Fiction",
                nouns: &["Novel", "Short Stories", "Thriller", "Poetry Collection"],
                zh_nouns: &["小说", "短篇小说集", "诗集"],
            },
            DemoSub {
                name: "Cooking",
                nouns: &["Cookbook", "Baking Book", "Recipe Journal"],
                zh_nouns: &["食谱", "烘焙书"],
            },
            DemoSub {
                name: "Travel",
                nouns: &["Travel Guide", "Road Atlas", "Phrasebook", "Travel Journal"],
                zh_nouns: &["旅行指南", "地图集", "旅行手账"],
            },
        ],
        adjectives: &[
            "Illustrated",
            "Pocket",
            "Hardcover",
            "Collected",
            "Complete",
        ],
        materials: &[
            "Nordic", "Coastal", "Mountain", "Midnight", "City", "Island",
        ],
        zh_adjectives: &["精装", "插图", "经典", "典藏"],
        zh_blurbs: &["中文版，全彩印刷。", "经典再版，值得收藏。"],
        blurbs: &["A staff favourite.", "Printed on recycled paper."],
        price: (6, 45),
    },
];

/// The last two digits of demo prices: shop-like endings, never ".00" (which JSON writes as
/// "25.0").
const PRICE_CENTS: [u32; 5] = [99, 49, 95, 79, 29];

/// A product of the demo shop: a catalog item and the colour of its tile.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoProduct {
    pub item: Item,
    /// A CSS hex colour (`#rrggbb`) from [`DEMO_COLORS`]; an extra field the engine ignores.
    pub color: &'static str,
}

/// The demo storefront's catalog: `n` shop-like products (`p-0001`, ...) across six departments,
/// with Title Case titles, 8 to 10% of them in Chinese to show the CJK tokenizer. The same
/// `(n, seed)` always gives the same products; [`catalog`] stays the benchmarks' catalog.
pub fn demo_catalog(n: usize, seed: u64) -> Vec<DemoProduct> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|i| demo_product(&mut rng, i)).collect()
}

fn demo_product(rng: &mut SplitMix64, i: usize) -> DemoProduct {
    // The first products visit every department once, so even a tiny catalog has them all;
    // the rest are drawn at random, so the departments differ in size as in a real shop.
    let dept = match DEMO_DEPARTMENTS.get(i) {
        Some(dept) => dept,
        None => rng.pick(&DEMO_DEPARTMENTS),
    };
    let sub = rng.pick(dept.subs);
    let brand = *rng.pick(&BRANDS);
    let (color_name, color) = *rng.pick(&DEMO_COLORS);
    let chinese = rng.unit() < 0.1;
    let (title, description) = if chinese {
        let noun = *rng.pick(sub.zh_nouns);
        let first = *rng.pick(dept.zh_adjectives);
        let second = *rng.pick(dept.zh_adjectives);
        let title = if second == first || rng.unit() < 0.4 {
            format!("{first}{noun}")
        } else {
            format!("{first}{second}{noun}")
        };
        let blurb = *rng.pick(dept.zh_blurbs);
        let description = format!(
            "{brand} 出品的{title}。{blurb}From the {} collection.",
            sub.name
        );
        (title, description)
    } else {
        let noun = *rng.pick(sub.nouns);
        let material = *rng.pick(dept.materials);
        let adjective = if rng.unit() < 0.25 {
            color_name
        } else {
            *rng.pick(dept.adjectives)
        };
        let title = if rng.unit() < 0.4 {
            format!("{brand} {adjective} {material} {noun}")
        } else {
            format!("{adjective} {material} {noun}")
        };
        // No article: "socks" and "chinos" are plural, "mug" is not.
        let description = format!(
            "{adjective} {} {} by {brand}, from the {} collection. {}",
            lowercase_words(material),
            lowercase_words(noun),
            sub.name,
            rng.pick(dept.blurbs)
        );
        (title, description)
    };
    let (low, high) = dept.price;
    // Squared: cheap products are more common than expensive ones, as in a real shop.
    let whole = low + ((high - low) as f64 * rng.unit() * rng.unit()) as u32;
    let cents = whole * 100 + rng.pick(&PRICE_CENTS);
    let mut item = Item::new(format!("p-{:04}", i + 1), title);
    item.description = Some(description);
    item.categories = vec![format!("{} > {}", dept.name, sub.name)];
    item.brand = Some(brand.to_owned());
    item.price = Some(f64::from(cents) / 100.0);
    item.available = rng.unit() >= 0.08;
    let roll = rng.unit();
    if roll < 0.35 {
        let first = *rng.pick(&TAGS);
        item.tags.push(first.to_owned());
        let second = *rng.pick(&TAGS);
        if roll < 0.07 && second != first {
            item.tags.push(second.to_owned());
        }
    }
    DemoProduct { item, color }
}

/// Title Case words in running text: lowercased, except acronyms ("USB").
fn lowercase_words(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            if w.len() > 1 && w.chars().all(|c| c.is_ascii_uppercase()) {
                w.to_owned()
            } else {
                w.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One demo product as a JSON row; the field order is the file's column order.
#[derive(Serialize)]
struct DemoRow<'a> {
    id: &'a str,
    title: &'a str,
    description: &'a Option<String>,
    categories: &'a [String],
    brand: &'a Option<String>,
    price: Option<f64>,
    available: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    color: &'a str,
}

/// [`demo_catalog`] as a JSON array the catalog loader takes, one product per line so that
/// diffs and greps of the generated file stay readable.
pub fn demo_catalog_json(n: usize, seed: u64) -> String {
    demo_products_json(&demo_catalog(n, seed))
}

/// Demo products as the JSON array of [`demo_catalog_json`].
pub fn demo_products_json(products: &[DemoProduct]) -> String {
    if products.is_empty() {
        return "[]\n".to_owned();
    }
    let mut out = String::from("[\n");
    for (i, p) in products.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let row = DemoRow {
            id: &p.item.id,
            title: &p.item.title,
            description: &p.item.description,
            categories: &p.item.categories,
            brand: &p.item.brand,
            price: p.item.price,
            available: p.item.available,
            tags: &p.item.tags,
            color: p.color,
        };
        // Serializing plain strings, numbers and booleans cannot fail.
        out.push_str(&serde_json::to_string(&row).unwrap_or_default());
    }
    out.push_str("\n]\n");
    out
}

/// True when the text holds a CJK character (a Chinese demo title).
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(kindred_core::is_cjk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid() {
        let a = catalog(50, 7, 8);
        assert_eq!(a, catalog(50, 7, 8));
        let (cat, report) =
            kindred_core::Catalog::from_json(&catalog_json(50, 7, 8)).expect("valid");
        assert_eq!(report.loaded, 50);
        assert_eq!(cat.embedding_dim(), Some(8));
    }
    #[test]
    fn demo_catalog_is_deterministic_and_loads_without_rejections() {
        let json = demo_catalog_json(2000, 7);
        assert_eq!(json, demo_catalog_json(2000, 7));
        assert_ne!(json, demo_catalog_json(2000, 8));
        let (cat, report) = kindred_core::Catalog::from_json(&json).expect("valid");
        assert_eq!(report.loaded, 2000);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(cat.len(), 2000, "ids are unique");
        assert_eq!(json.lines().count(), 2002, "one product per line");
    }

    #[test]
    fn demo_catalog_has_shop_like_rows() {
        let products = demo_catalog(2000, 7);
        assert_eq!(products[0].item.id, "p-0001");
        assert_eq!(products[1999].item.id, "p-2000");
        let ids: std::collections::BTreeSet<&str> =
            products.iter().map(|p| p.item.id.as_str()).collect();
        assert_eq!(ids.len(), 2000);
        for p in &products {
            let item = &p.item;
            assert_eq!(item.categories.len(), 1);
            let (dept, sub) = item.categories[0].split_once(" > ").expect("a path");
            let d = DEMO_DEPARTMENTS
                .iter()
                .find(|d| d.name == dept)
                .expect(dept);
            assert!(d.subs.iter().any(|s| s.name == sub), "{sub}");
            let price = item.price.expect("a price");
            let (low, high) = d.price;
            assert!(
                price >= f64::from(low) && price < f64::from(high + 1),
                "{price}"
            );
            assert_eq!((price * 100.0).round() / 100.0, price, "two decimals");
            assert!(item.brand.is_some() && item.description.is_some());
            assert!(DEMO_COLORS.iter().any(|(_, hex)| *hex == p.color));
            assert!(item.tags.iter().all(|t| TAGS.contains(&t.as_str())));
            if !has_cjk(&item.title) {
                assert!(
                    item.title
                        .split(' ')
                        .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase())),
                    "Title Case: {}",
                    item.title
                );
            }
        }
        for d in &DEMO_DEPARTMENTS {
            assert!(
                products.iter().any(|p| p.item.in_category(d.name)),
                "{} is missing",
                d.name
            );
        }
        let chinese = products.iter().filter(|p| has_cjk(&p.item.title)).count();
        assert!((120..=220).contains(&chinese), "{chinese} Chinese titles");
        let available = products.iter().filter(|p| p.item.available).count();
        assert!((1780..=1900).contains(&available), "{available} available");
        // Chinese titles share words, so a CJK search finds a group, not one product.
        let wireless = products
            .iter()
            .filter(|p| p.item.title.contains("无线"))
            .count();
        assert!(wireless >= 3, "{wireless} titles with 无线");
    }

    #[test]
    fn every_department_appears_even_in_a_tiny_demo_catalog() {
        for seed in 0..20 {
            let products = demo_catalog(6, seed);
            for d in &DEMO_DEPARTMENTS {
                assert!(products.iter().any(|p| p.item.in_category(d.name)));
            }
        }
    }

    #[test]
    fn demo_json_keeps_the_column_order_and_omits_empty_tags() {
        let json = demo_catalog_json(200, 7);
        let lines: Vec<&str> = json.lines().collect();
        assert_eq!(lines[0], "[");
        assert_eq!(lines[lines.len() - 1], "]");
        let keys = [
            "\"id\"",
            "\"title\"",
            "\"description\"",
            "\"categories\"",
            "\"brand\"",
            "\"price\"",
            "\"available\"",
            "\"tags\"",
            "\"color\"",
        ];
        let mut with_tags = 0;
        for line in &lines[1..lines.len() - 1] {
            let positions: Vec<usize> = keys.iter().filter_map(|k| line.find(k)).collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
            with_tags += usize::from(line.contains("\"tags\""));
            assert!(!line.contains("\"tags\":[]"), "{line}");
        }
        assert!(with_tags > 0 && with_tags < 200);
        assert_eq!(demo_catalog_json(0, 7), "[]\n");
    }
}
