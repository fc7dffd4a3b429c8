//! The recommenders by name. A vocabulary every layer shares, not only `recommend`: a click
//! names the strategy that recommended the item (the shopper's history), reports count
//! whether each was shown and clicked (privacy) and the server totals them (aggregate).

use serde::{Deserialize, Serialize};

/// Which recommender to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Personal: the shopper's profile, shared co-occurrence and a popularity prior.
    #[default]
    ForYou,
    /// Items like `item`: TF-IDF cosine, blended with embedding cosine when present.
    Similar,
    /// Items shoppers viewed or bought together with `item`, content similarity as fallback.
    ///
    /// The shared item lists it ranks by are learned from pairs every device reports of two
    /// items in one basket, one session or one window, views included (a basket pair is only
    /// sampled first), so they are not purchases alone and the reasons say "viewed or bought".
    /// The name stays: it is the API, the storefront's slot and the key clicks are counted
    /// under. Bought-only lists would need their own report family and privacy budget.
    BoughtTogether,
    /// Items growing fastest across all shoppers (shared model).
    Trending,
    /// The shopper's own recently viewed items, newest first.
    RecentlyViewed,
    /// The shopper's own past purchases, by frequency and recency.
    BuyAgain,
}

impl Strategy {
    /// Every strategy, in a fixed order.
    pub const ALL: [Strategy; 6] = [
        Strategy::ForYou,
        Strategy::Similar,
        Strategy::BoughtTogether,
        Strategy::Trending,
        Strategy::RecentlyViewed,
        Strategy::BuyAgain,
    ];

    /// The strategy called `name` (`"for-you"`, ...).
    pub fn from_name(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::ForYou => "for-you",
            Strategy::Similar => "similar",
            Strategy::BoughtTogether => "bought-together",
            Strategy::Trending => "trending",
            Strategy::RecentlyViewed => "recently-viewed",
            Strategy::BuyAgain => "buy-again",
        }
    }

    /// Strategies that start from one item.
    pub fn needs_item(self) -> bool {
        matches!(self, Strategy::Similar | Strategy::BoughtTogether)
    }
}
