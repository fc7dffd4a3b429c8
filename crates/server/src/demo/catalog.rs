//! `kindred demo-catalog`: the demo storefront's catalog, generated rather than committed.
//!
//! The products come from [`kindred_synthetic::demo_catalog`], so the same `--items` and
//! `--seed` always give the same file and `npm start` can regenerate it on every run. The file
//! is loaded through the real catalog loader before it is written: a generator change that
//! produced a row the browser would reject fails here, not in the demo.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use kindred_core::{Catalog, CatalogError};
use kindred_synthetic::{demo_catalog, demo_products_json, has_cjk};

/// Most products `--items` accepts: far more than a demo needs, still a file of a few MB.
pub const MAX_ITEMS: usize = 100_000;

/// `kindred demo-catalog` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Number of products (1 to 100000).
    #[arg(long, default_value_t = 2000, value_parser = parse_items)]
    pub items: usize,
    /// Seed of the generator: the same seed and item count always give the same file.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Where to write the JSON (replaced atomically); standard output without it.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

fn parse_items(text: &str) -> Result<usize, String> {
    super::count_from_one(text, MAX_ITEMS, "products")
}

/// Why the demo catalog was not written.
#[derive(Debug, thiserror::Error)]
pub enum DemoCatalogError {
    #[error("--items must be from 1 to {MAX_ITEMS}, got {0}")]
    Items(usize),
    #[error("the generated catalog does not load: {0}")]
    Load(#[from] CatalogError),
    #[error("the generated catalog loses rows: {loaded} of {expected} loaded (first rejection: {first})")]
    Rejected {
        loaded: usize,
        expected: usize,
        first: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// What `kindred demo-catalog` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub products: usize,
    pub chinese_titles: usize,
}

/// Generates, validates and writes the demo catalog, then prints one line to stderr.
pub fn run(args: &Args) -> Result<Written, DemoCatalogError> {
    let (json, written) = generate(args.items, args.seed)?;
    let target = match &args.out {
        Some(path) => {
            write_atomically(path, json.as_bytes()).map_err(|source| DemoCatalogError::Write {
                path: path.display().to_string(),
                source,
            })?;
            path.display().to_string()
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(json.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|source| DemoCatalogError::Write {
                    path: "standard output".to_owned(),
                    source,
                })?;
            "standard output".to_owned()
        }
    };
    eprintln!(
        "wrote {} products ({} with Chinese titles) to {target}",
        written.products, written.chinese_titles
    );
    Ok(written)
}

/// The catalog's JSON after checking that every row loads through [`Catalog::from_json`].
pub fn generate(items: usize, seed: u64) -> Result<(String, Written), DemoCatalogError> {
    if !(1..=MAX_ITEMS).contains(&items) {
        return Err(DemoCatalogError::Items(items));
    }
    let products = demo_catalog(items, seed);
    let json = demo_products_json(&products);
    let (_, report) = Catalog::from_json(&json)?;
    if let Some(first) = report.rejected.first() {
        return Err(DemoCatalogError::Rejected {
            loaded: report.loaded,
            expected: items,
            first: format!("row {}: {}", first.index, first.reason),
        });
    }
    let chinese_titles = products.iter().filter(|p| has_cjk(&p.item.title)).count();
    Ok((
        json,
        Written {
            products: report.loaded,
            chinese_titles,
        },
    ))
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`: a server
/// serving the old file meanwhile never sends half a catalog.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names a directory, not a file",
        )
    })?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = dir.join(temp_name);
    let result = File::create(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_outside_the_range_are_refused_with_the_range() {
        assert_eq!(parse_items("2000"), Ok(2000));
        for bad in ["0", "100001", "-3", "many"] {
            let e = parse_items(bad).expect_err(bad);
            assert!(e.contains("from 1 to 100000"), "{e}");
        }
        assert!(matches!(generate(0, 7), Err(DemoCatalogError::Items(0))));
    }

    #[test]
    fn generate_counts_products_and_chinese_titles() {
        let (json, written) = generate(300, 7).expect("valid");
        assert_eq!(written.products, 300);
        assert!(written.chinese_titles > 0 && written.chinese_titles < 60);
        assert!(json.starts_with("[\n{\"id\":\"p-0001\","));
    }
}
