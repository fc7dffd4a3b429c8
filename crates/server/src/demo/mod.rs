//! The demo shop's data, made by the project itself: `kindred demo-catalog` writes the
//! storefront's products (`www/catalog.json`) from the core's deterministic generator, and
//! `kindred demo-seed` fills a fresh database with a week of simulated shoppers' reports, so
//! the shared model has something to show on the first visit.

pub mod catalog;
pub mod seed;
pub mod shoppers;

/// A command-line count from 1 to `max`, or a message naming what it counts (`--items`,
/// `--shoppers`, `--days`).
pub(crate) fn count_from_one(text: &str, max: usize, what: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "\"{text}\" is not a number of {what} from 1 to {max}"
        )),
    }
}
