//! Made-up shoppers of the demo shop: who looks at what, and what ends up in one basket.
//!
//! The server only learns a key (an item, a pair of items) of a contribution window (30 days)
//! when at least `k` (10) distinct shoppers contributed it in that window, and then with noise
//! of a standard deviation of about 16 (items) to 32 (pairs) shoppers. A few hundred shoppers
//! spread evenly over 2,000 products would therefore teach it little. Real shops are not even, and neither are these shoppers:
//!
//! - Inside each sub-category, popularity follows a Zipf law over a seeded ranking, so a few
//!   products per shelf are bestsellers.
//! - **Bundles**, three products of one sub-category (of one brand when the shelf allows),
//!   are bought together: most sessions look at a bundle of a department the shopper likes,
//!   then carts and often buys two of it. These are the pairs the "bought-together" rail
//!   shows. Their number grows with the shoppers, so each bundle keeps enough shoppers per
//!   window to clear the threshold and the noise.
//! - Some bundles rise over the simulated days and some fade, so "trending" has something to
//!   find besides sheer size.
//! - Every product page shows the storefront's rails ([`PRODUCT_PAGE_RAILS`]), and half of the
//!   shoppers sometimes reach a session's first product through one of them: a click on a
//!   recommendation, attributed to its rail. So the dashboard's strategy rows have shoppers
//!   shown and shoppers who clicked (about 40 % for for-you); a shopper counts once per window
//!   in each, and with the default 400 shoppers far more are shown a rail in a window than the
//!   ten noise σ (about 150) click-through needs.
//!
//! Everything is drawn from [`SplitMix64`] with the given seed: fake data, reproducible. It
//! never touches privacy noise (the server's release noise comes from the OS).

use std::collections::BTreeMap;

use kindred_core::SplitMix64;
use kindred_core::{Catalog, EventKind, Strategy, DAY_MS};

use crate::csv_input::Event;

const HOUR_MS: i64 = 3_600_000;
/// Items per bundle.
const BUNDLE_SIZE: usize = 3;
/// About this many shoppers per bundle. With the activity below a bundle is then looked at by
/// some 7 to 25 distinct shoppers a day (more for a department's first bundle), far more
/// than k = 10 and the pair noise over a 30-day window. Measured with 400 shoppers over 90
/// days (three windows) on the 2,000-item demo catalog: about 455 products with popularity,
/// 200 trending and 100 with neighbours. (With one-day releases it was chosen over 15 and 30.)
const SHOPPERS_PER_BUNDLE: usize = 20;
/// Zipf exponent of popularity inside a sub-category.
const ZIPF: f64 = 1.1;
/// The rails of the demo's product page (`www/product.html`), shown with every product.
pub const PRODUCT_PAGE_RAILS: [Strategy; 3] = [
    Strategy::BoughtTogether,
    Strategy::Similar,
    Strategy::ForYou,
];
/// How often a shopper who uses the rails starts a session with a click on one of them ...
const RAIL_CLICK_SESSIONS: f64 = 0.1;
/// ... and on which, weighted like [`PRODUCT_PAGE_RAILS`].
const RAIL_CLICK_WEIGHTS: [f64; 3] = [0.2, 0.3, 0.5];
/// Mixed into the seed for the rail clicks, so that they come from a generator of their own
/// and the shopping (views, carts, purchases) is the same with or without them.
const RAIL_CLICK_SALT: u64 = 0x7261_696c_636c_6b73;

/// A sub-category shelf: its available products, most popular first.
#[derive(Debug)]
struct Shelf {
    department: usize,
    items: Vec<u32>,
    popularity: Weights,
}

/// Products that are bought together, with their popularity over the days.
#[derive(Debug)]
struct Bundle {
    shelf: usize,
    items: Vec<u32>,
    /// Weight among the department's bundles on the first day ...
    weight: f64,
    /// ... and its relative change by the last day (-0.6: fading, +2: rising fast).
    trend: f64,
}

/// The shop as the shoppers see it.
#[derive(Debug)]
struct Shop {
    shelves: Vec<Shelf>,
    /// Per department: its shelves and its bundles.
    departments: Vec<(Vec<usize>, Vec<usize>)>,
    bundles: Vec<Bundle>,
    /// Brand of each catalog index (`None` when the item has none or is not for sale).
    brands: Vec<Option<String>>,
}

/// Cumulative weights for drawing an index.
#[derive(Debug, Clone)]
struct Weights(Vec<f64>);

impl Weights {
    fn new(weights: impl IntoIterator<Item = f64>) -> Weights {
        let mut total = 0.0;
        Weights(
            weights
                .into_iter()
                .map(|w| {
                    total += w.max(0.0);
                    total
                })
                .collect(),
        )
    }

    /// An index drawn in proportion to its weight (0 when every weight is 0).
    fn draw(&self, rng: &mut SplitMix64) -> usize {
        let total = self.0.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.0
            .partition_point(|&c| c <= x)
            .min(self.0.len().saturating_sub(1))
    }
}

/// Why shoppers cannot be simulated on a catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopperError {
    #[error("the catalog has {0} available product(s); simulated shoppers need at least two on one shelf (category)")]
    TooFewProducts(usize),
}

/// A shelf's key: the item's first category path, or one shelf for items without one.
fn shelf_of(categories: &[String]) -> (&str, &str) {
    let path = categories.first().map_or("", String::as_str);
    let department = path.split(" > ").next().unwrap_or(path);
    (department, path)
}

/// Fisher-Yates with the simulation's generator.
fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

impl Shop {
    fn new(catalog: &Catalog, shoppers: usize, rng: &mut SplitMix64) -> Result<Shop, ShopperError> {
        let mut brands = vec![None; catalog.slots()];
        let mut by_shelf: BTreeMap<(&str, &str), Vec<u32>> = BTreeMap::new();
        for (index, item) in catalog.iter() {
            if item.available {
                by_shelf
                    .entry(shelf_of(&item.categories))
                    .or_default()
                    .push(index);
                brands[index as usize] = item.brand.clone();
            }
        }
        let available: usize = by_shelf.values().map(Vec::len).sum();
        by_shelf.retain(|_, items| items.len() >= 2);
        if by_shelf.is_empty() {
            return Err(ShopperError::TooFewProducts(available));
        }
        let mut department_names: Vec<&str> = Vec::new();
        let mut shelves = Vec::new();
        for ((department, _), mut items) in by_shelf {
            let department = match department_names.iter().position(|d| *d == department) {
                Some(d) => d,
                None => {
                    department_names.push(department);
                    department_names.len() - 1
                }
            };
            shuffle(&mut items, rng);
            let popularity = Weights::new((0..items.len()).map(|r| (r as f64 + 1.0).powf(-ZIPF)));
            shelves.push(Shelf {
                department,
                items,
                popularity,
            });
        }
        let mut departments: Vec<(Vec<usize>, Vec<usize>)> =
            vec![(Vec::new(), Vec::new()); department_names.len()];
        for (s, shelf) in shelves.iter().enumerate() {
            departments[shelf.department].0.push(s);
        }
        let mut shop = Shop {
            shelves,
            departments,
            bundles: Vec::new(),
            brands,
        };
        shop.make_bundles(shoppers, rng);
        Ok(shop)
    }

    /// Bundles, dealt to the departments in turn and inside one to its shelves in turn: the
    /// `j`-th bundle of a shelf is built around the shelf's best product not yet in a bundle,
    /// with companions of the same brand first, then by popularity.
    fn make_bundles(&mut self, shoppers: usize, rng: &mut SplitMix64) {
        let max = self.shelves.len() * 3;
        let wanted = (shoppers / SHOPPERS_PER_BUNDLE).clamp(self.departments.len(), max);
        let mut used: Vec<usize> = vec![0; self.shelves.len()];
        let mut taken: Vec<Vec<bool>> = self
            .shelves
            .iter()
            .map(|s| vec![false; s.items.len()])
            .collect();
        let mut next_shelf = vec![0usize; self.departments.len()];
        let mut stalled = 0;
        let mut d = 0;
        while self.bundles.len() < wanted && stalled < self.departments.len() {
            let shelves = &self.departments[d].0;
            let mut made = false;
            for _ in 0..shelves.len() {
                let s = shelves[next_shelf[d] % shelves.len()];
                next_shelf[d] += 1;
                let free: Vec<usize> = (0..self.shelves[s].items.len())
                    .filter(|&r| !taken[s][r])
                    .collect();
                if free.len() < 2 || used[s] >= 3 {
                    continue;
                }
                let anchor = free[0];
                let brand = &self.brands[self.shelves[s].items[anchor] as usize];
                let mut members = vec![anchor];
                let same_brand = free[1..].iter().filter(|&&r| {
                    brand.is_some() && self.brands[self.shelves[s].items[r] as usize] == *brand
                });
                let others = free[1..].iter().filter(|&&r| {
                    brand.is_none() || self.brands[self.shelves[s].items[r] as usize] != *brand
                });
                for &r in same_brand.chain(others).take(BUNDLE_SIZE - 1) {
                    members.push(r);
                }
                for &r in &members {
                    taken[s][r] = true;
                }
                used[s] += 1;
                let rank = self.departments[d].1.len();
                self.departments[d].1.push(self.bundles.len());
                self.bundles.push(Bundle {
                    shelf: s,
                    items: members.iter().map(|&r| self.shelves[s].items[r]).collect(),
                    weight: 1.0 / (rank as f64 + 1.0),
                    trend: rng.unit() * 2.6 - 0.6,
                });
                made = true;
                break;
            }
            stalled = if made { 0 } else { stalled + 1 };
            d = (d + 1) % self.departments.len();
        }
    }

    /// A product of a shelf by popularity; with a favourite brand, often one of that brand.
    fn browse(&self, shelf: usize, brand: Option<&str>, rng: &mut SplitMix64) -> u32 {
        let shelf = &self.shelves[shelf];
        if let Some(brand) = brand.filter(|_| rng.unit() < 0.3) {
            let of_brand: Vec<u32> = shelf
                .items
                .iter()
                .copied()
                .filter(|&i| self.brands[i as usize].as_deref() == Some(brand))
                .take(5)
                .collect();
            if !of_brand.is_empty() {
                return *rng.pick(&of_brand);
            }
        }
        shelf.items[shelf.popularity.draw(rng)]
    }
}

/// One shopper's tastes.
#[derive(Debug)]
struct Shopper {
    departments: Vec<usize>,
    brand: Option<String>,
    /// Chance of visiting on a given day.
    activity: f64,
    /// Chance that a session starts with a click on a rail (0 for shoppers who never click
    /// recommendations).
    rail_clicks: f64,
}

/// The events of `shoppers` simulated shoppers over `days` days from `first_epoch`, each
/// shopper's in time order (ready for [`crate::simulate::client::Client::replay`]).
pub fn simulate(
    catalog: &Catalog,
    shoppers: usize,
    first_epoch: u32,
    days: u32,
    seed: u64,
) -> Result<Vec<Vec<Event>>, ShopperError> {
    let mut rng = SplitMix64::new(seed);
    let mut clicks = SplitMix64::new(seed ^ RAIL_CLICK_SALT);
    let shop = Shop::new(catalog, shoppers, &mut rng)?;
    let all_brands: Vec<&String> = {
        let mut b: Vec<&String> = shop.brands.iter().flatten().collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    Ok((0..shoppers)
        .map(|_| {
            let departments = (0..1 + usize::from(rng.unit() < 0.5))
                .map(|_| rng.below(shop.departments.len()))
                .collect();
            let brand = (!all_brands.is_empty() && rng.unit() < 0.6)
                .then(|| (*rng.pick(&all_brands)).clone());
            let shopper = Shopper {
                departments,
                brand,
                activity: 0.45 + rng.unit() * 0.5,
                rail_clicks: if clicks.unit() < 0.5 {
                    RAIL_CLICK_SESSIONS
                } else {
                    0.0
                },
            };
            let mut events = Vec::new();
            for day in 0..days {
                if rng.unit() < shopper.activity {
                    let start = i64::from(first_epoch + day) * DAY_MS;
                    let rngs = (&mut rng, &mut clicks);
                    shop_day(&shop, &shopper, day, days, start, rngs, &mut events);
                }
            }
            events
        })
        .collect())
}

/// One to two sessions in a day: morning to early afternoon, and late afternoon to night,
/// hours apart so the engine sees two sessions (its gap is 30 minutes). `rngs`: the shopping's
/// generator and the rail clicks'.
fn shop_day(
    shop: &Shop,
    shopper: &Shopper,
    day: u32,
    days: u32,
    day_start: i64,
    (rng, clicks): (&mut SplitMix64, &mut SplitMix64),
    events: &mut Vec<Event>,
) {
    let rails = Weights::new(RAIL_CLICK_WEIGHTS);
    let sessions = 1 + usize::from(rng.unit() < 0.5);
    // How far through the simulated days this one is, for the bundles' trends.
    let progress = if days > 1 {
        f64::from(day) / f64::from(days - 1)
    } else {
        1.0
    };
    for s in 0..sessions {
        let start_hour = 8 + 8 * s as i64;
        let mut ts = day_start + start_hour * HOUR_MS + rng.below(6 * HOUR_MS as usize) as i64;
        let department = if rng.unit() < 0.8 {
            *rng.pick(&shopper.departments)
        } else {
            rng.below(shop.departments.len())
        };
        let (shelves, bundles) = &shop.departments[department];
        let mut viewed: Vec<u32> = Vec::new();
        let mut basket: Vec<u32> = Vec::new();
        let brand = shopper.brand.as_deref();
        if !bundles.is_empty() && rng.unit() < 0.7 {
            let weights = Weights::new(bundles.iter().map(|&b| {
                let b = &shop.bundles[b];
                b.weight * (1.0 + b.trend * progress)
            }));
            let bundle = &shop.bundles[bundles[weights.draw(rng)]];
            let mut items = bundle.items.clone();
            shuffle(&mut items, rng);
            viewed.extend(&items);
            for _ in 0..rng.below(3) {
                viewed.push(shop.browse(bundle.shelf, brand, rng));
            }
            if rng.unit() < 0.6 {
                basket.extend(items.iter().take(2));
            }
        } else {
            let shelf = *rng.pick(shelves);
            for _ in 0..2 + rng.below(3) {
                viewed.push(shop.browse(shelf, brand, rng));
            }
            if rng.unit() < 0.3 {
                basket.push(viewed[0]);
            }
        }
        // Reached through a rail: the click comes a second before the product page's view.
        let mut rail =
            (clicks.unit() < shopper.rail_clicks).then(|| PRODUCT_PAGE_RAILS[rails.draw(clicks)]);
        let mut add = |item: u32, kind: EventKind, rng: &mut SplitMix64| {
            ts += 20_000 + rng.below(100_000) as i64;
            if let Some(strategy) = rail.take().filter(|_| kind == EventKind::View) {
                events.push(Event {
                    ts: ts - 1_000,
                    item,
                    kind: EventKind::Click,
                    strategy: Some(strategy),
                });
            }
            events.push(Event {
                ts,
                item,
                kind,
                strategy: None,
            });
        };
        for &item in &viewed {
            add(item, EventKind::View, rng);
        }
        for &item in &basket {
            add(item, EventKind::Cart, rng);
        }
        if !basket.is_empty() && rng.unit() < 0.6 {
            for &item in &basket {
                add(item, EventKind::Purchase, rng);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_synthetic::demo_catalog_json;

    fn catalog(n: usize) -> Catalog {
        Catalog::from_json(&demo_catalog_json(n, 7))
            .expect("valid")
            .0
    }

    #[test]
    fn shoppers_are_reproducible_and_in_time_order_within_their_days() {
        let cat = catalog(300);
        let a = simulate(&cat, 50, 20_000, 3, 1).expect("simulates");
        let b = simulate(&cat, 50, 20_000, 3, 1).expect("simulates");
        assert_eq!(a.len(), 50);
        assert_eq!(a, b);
        for events in &a {
            assert!(events.windows(2).all(|w| w[0].ts < w[1].ts));
            for e in events {
                let day = (e.ts / DAY_MS) as u32;
                assert!((20_000..20_003).contains(&day), "{day}");
                assert!(cat.get(e.item).is_some_and(|i| i.available));
            }
        }
        assert!(a
            .iter()
            .any(|e| e.iter().any(|e| e.kind == EventKind::Purchase)));
    }

    #[test]
    fn half_of_the_shoppers_click_rails_each_click_leading_to_its_product_page() {
        let cat = catalog(300);
        let shoppers = simulate(&cat, 200, 20_000, 30, 2).expect("simulates");
        let mut clickers = 0;
        let mut by_rail = [0usize; 3];
        for events in &shoppers {
            let mut clicked = false;
            for (i, e) in events.iter().enumerate() {
                match (e.kind, e.strategy) {
                    (EventKind::Click, Some(rail)) => {
                        let view = events[i + 1];
                        assert_eq!(
                            (view.kind, view.item, view.ts, view.strategy),
                            (EventKind::View, e.item, e.ts + 1_000, None)
                        );
                        let r = PRODUCT_PAGE_RAILS.iter().position(|s| *s == rail);
                        by_rail[r.expect("a product page rail")] += 1;
                        clicked = true;
                    }
                    (kind, strategy) => assert_eq!(strategy, None, "{kind:?}"),
                }
            }
            clickers += usize::from(clicked);
        }
        // Half of them use the rails, and over 30 days nearly all of those click once.
        assert!((80..=120).contains(&clickers), "{clickers}");
        // Weighted 2 : 3 : 5.
        assert!(
            by_rail[0] < by_rail[1] && by_rail[1] < by_rail[2],
            "{by_rail:?}"
        );
    }

    #[test]
    fn bundles_share_a_shelf_and_cover_every_department() {
        let cat = catalog(2000);
        let shop = Shop::new(&cat, 400, &mut SplitMix64::new(3)).expect("a shop");
        assert_eq!(shop.departments.len(), 6);
        assert_eq!(shop.bundles.len(), 400 / SHOPPERS_PER_BUNDLE);
        assert!(shop
            .departments
            .iter()
            .all(|(_, bundles)| !bundles.is_empty()));
        let mut seen = std::collections::BTreeSet::new();
        for b in &shop.bundles {
            assert_eq!(b.items.len(), BUNDLE_SIZE);
            let paths: Vec<&Vec<String>> = b
                .items
                .iter()
                .map(|&i| &cat.get(i).expect("in the catalog").categories)
                .collect();
            assert!(paths.iter().all(|p| *p == paths[0]), "one shelf");
            assert!(
                b.items.iter().all(|i| seen.insert(*i)),
                "no item in two bundles"
            );
        }
        let few = Shop::new(&cat, 10, &mut SplitMix64::new(3)).expect("a shop");
        assert_eq!(few.bundles.len(), 6, "at least one bundle per department");
    }

    #[test]
    fn a_catalog_without_a_shelf_of_two_is_refused() {
        let cat = Catalog::from_json(
            r#"[{"id":"a","title":"A"},{"id":"b","title":"B","categories":["X"]}]"#,
        )
        .expect("valid")
        .0;
        assert_eq!(
            simulate(&cat, 5, 20_000, 1, 1).expect_err("too small"),
            ShopperError::TooFewProducts(2)
        );
    }
}
