//! Settings of `kindred serve` and `kindred build-model`.
//!
//! Every setting can come from a flag, an environment variable (`KINDRED_*`) or the optional
//! TOML file (`--config`), in that order of precedence, then the default. The file uses the
//! flag names with `_` for `-` (`--retention-days` is `retention_days = 400`); the caps, which
//! must equal the clients' `privacy.caps`, exist only in the file (`[caps]`). Unknown keys in
//! the file are errors, so a typo cannot silently leave a default in force.
//!
//! Counting is per **contribution window** (`--window-days`, 30 by default, aligned to day 0
//! like the clients' windows): a window takes reports until `--release-delay-days` after its
//! last day, is then released once, and the model describes the months up to the newest
//! released window ([`PrivacySettings`] holds these rules).
//!
//! Paths (database, static directory, catalog) are relative to the working directory, not to
//! the file: the same rule for flags, variables and the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use kindred_core::aggregate::AggregationConfig;
use kindred_core::{window_of, Caps, Mode};
use serde::Deserialize;

use crate::store::Period;

/// Default `--retention-days`: a year of 30-day windows and the delay of the newest, so the
/// model's decay (half-life 60 days) and buy-again style seasonality see a whole year, while
/// nothing older than about 13 months is kept.
pub const DEFAULT_RETENTION_DAYS: u32 = 400;
/// Default `--release-delay-days`: browsers send the previous day's report on the next visit,
/// so one day after a window ends nearly every report for it is in.
pub const DEFAULT_RELEASE_DELAY_DAYS: u32 = 1;

/// Why the settings are unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    File { path: PathBuf, message: String },
    #[error("invalid setting {name}: {problem}")]
    Invalid { name: &'static str, problem: String },
}

fn invalid(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        problem: problem.into(),
    }
}

/// Settings shared by `serve` and `build-model`: where the counters are and how they are
/// released.
#[derive(Debug, Clone, Default, Args)]
pub struct CommonArgs {
    /// TOML file with any of these settings (flag names with `_` for `-`; caps in `[caps]`).
    /// Flags and environment variables override it.
    #[arg(long, env = "KINDRED_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// SQLite database file (created when missing), or `sqlite:PATH`. [default: kindred.db]
    #[arg(
        long,
        env = "KINDRED_DATABASE",
        value_name = "PATH",
        help_heading = "Storage"
    )]
    pub database: Option<String>,

    /// Days released counts are kept: releases (and counters) of windows that ended longer ago
    /// are deleted at each rebuild. The default keeps a year of windows feeding the model.
    /// [default: 400]
    #[arg(
        long,
        env = "KINDRED_RETENTION_DAYS",
        value_name = "DAYS",
        help_heading = "Storage"
    )]
    pub retention_days: Option<u32>,

    /// Name of the shop, shown on the dashboard and in /v1/health. [default: kindred]
    #[arg(long, env = "KINDRED_SITE", value_name = "NAME")]
    pub site: Option<String>,

    /// Report modes accepted, comma-separated: threshold, ldp. Reports in other modes are
    /// refused with 400. `ldp` needs --catalog. [default: threshold]
    #[arg(
        long,
        env = "KINDRED_MODES",
        value_name = "MODES",
        value_delimiter = ',',
        value_parser = parse_mode,
        help_heading = "Privacy"
    )]
    pub modes: Option<Vec<Mode>>,

    /// Distinct shoppers in a window a key (item, pair, interest) needs before it is
    /// released. 50 is the strict setting (Protected Audience's target). [default: 10]
    #[arg(long, env = "KINDRED_K", value_name = "N", help_heading = "Privacy")]
    pub k: Option<u64>,

    /// Epsilon per shopper per window: the noise of every release is calibrated to it. Must
    /// equal the clients' `privacy.epsilonPerWindow`. [default: 4]
    #[arg(
        long,
        env = "KINDRED_EPSILON",
        value_name = "EPSILON",
        help_heading = "Privacy"
    )]
    pub epsilon: Option<f64>,

    /// Delta of the (epsilon, delta) budget per shopper per window; must equal the clients'
    /// `privacy.delta`. [default: 0.000001]
    #[arg(
        long,
        env = "KINDRED_DELTA",
        value_name = "DELTA",
        help_heading = "Privacy"
    )]
    pub delta: Option<f64>,

    /// Length of a contribution window in days (windows start on multiples of it, counted from
    /// 1970-01-01). Must equal the clients' `privacy.windowDays`; reports of other windows are
    /// refused. [default: 30]
    #[arg(
        long,
        env = "KINDRED_WINDOW_DAYS",
        value_name = "DAYS",
        help_heading = "Privacy"
    )]
    pub window_days: Option<u32>,

    /// Optional delta for (epsilon, delta)-DP presence of keys: raises the release threshold far
    /// above k (see docs/PRIVACY.md). [default: none]
    #[arg(
        long,
        env = "KINDRED_PRESENCE_DELTA",
        value_name = "DELTA",
        help_heading = "Privacy"
    )]
    pub presence_delta: Option<f64>,

    /// Epsilon of one LDP report; must equal the clients' `privacy.ldpEpsilon` (LDP reports
    /// carrying another are refused). [default: 1]
    #[arg(
        long,
        env = "KINDRED_LDP_EPSILON",
        value_name = "EPSILON",
        help_heading = "Privacy"
    )]
    pub ldp_epsilon: Option<f64>,

    /// LDP Padding-and-Sampling length; must equal the clients' `privacy.ldpSetSize`.
    /// [default: 4]
    #[arg(
        long,
        env = "KINDRED_LDP_SET_SIZE",
        value_name = "N",
        help_heading = "Privacy"
    )]
    pub ldp_set_size: Option<u32>,

    /// Catalog JSON (the one the storefront loads): its ids and interest keys are the
    /// candidates LDP estimates are computed for. Required with mode ldp.
    #[arg(
        long,
        env = "KINDRED_CATALOG",
        value_name = "FILE",
        help_heading = "Privacy"
    )]
    pub catalog: Option<PathBuf>,

    /// Days after a window ends it still takes late reports; the window is released (once,
    /// for ever) at the first rebuild after that. [default: 1]
    #[arg(
        long,
        env = "KINDRED_RELEASE_DELAY_DAYS",
        value_name = "DAYS",
        help_heading = "Privacy"
    )]
    pub release_delay_days: Option<u32>,

    /// Log filter (tracing's EnvFilter syntax, e.g. `info`, `kindred_server=debug`).
    /// [default: info]
    #[arg(long, env = "KINDRED_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

/// Settings of `kindred serve` only.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Address to listen on (port 0 picks a free port; the address is logged).
    /// [default: 127.0.0.1:8080]
    #[arg(
        long,
        env = "KINDRED_LISTEN",
        value_name = "ADDR",
        help_heading = "HTTP"
    )]
    pub listen: Option<SocketAddr>,

    /// Origins allowed to post reports and read the model from other sites, comma-separated
    /// (`https://shop.example`), or `*` for any. Same-origin pages need no entry.
    /// [default: none]
    #[arg(
        long,
        env = "KINDRED_ALLOWED_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ',',
        help_heading = "HTTP"
    )]
    pub allowed_origins: Option<Vec<String>>,

    /// Directory of static files served at / (the demo storefront). [default: www]
    #[arg(
        long,
        env = "KINDRED_STATIC_DIR",
        value_name = "DIR",
        help_heading = "HTTP"
    )]
    pub static_dir: Option<PathBuf>,

    /// Reports accepted per minute from one client address (salted hash, never stored);
    /// 0 turns rate limiting off. [default: 60]
    #[arg(
        long,
        env = "KINDRED_RATE_LIMIT",
        value_name = "PER_MINUTE",
        help_heading = "HTTP"
    )]
    pub rate_limit: Option<u32>,

    /// Behind a reverse proxy: the header holding the client address (e.g. x-forwarded-for;
    /// its last entry is used). Only set it when a proxy always sets that header.
    /// [default: none, the peer address]
    #[arg(
        long,
        env = "KINDRED_CLIENT_IP_HEADER",
        value_name = "HEADER",
        help_heading = "HTTP"
    )]
    pub client_ip_header: Option<String>,

    /// On SIGTERM/Ctrl-C, seconds to keep answering 503 (health included) before closing, so a
    /// load balancer can drain. [default: 0]
    #[arg(
        long,
        env = "KINDRED_DRAIN_SECONDS",
        value_name = "SECONDS",
        help_heading = "HTTP"
    )]
    pub drain_seconds: Option<u64>,

    /// Token for /dashboard, /v1/stats, /v1/admin/* and /metrics (HTTP Basic password, any user name, or
    /// `Authorization: Bearer`). Prefer the environment variable: flags show in `ps`.
    /// Without it those routes answer 403. [default: none]
    #[arg(
        long,
        env = "KINDRED_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = "Admin"
    )]
    pub admin_token: Option<String>,

    /// How often the model is rebuilt (closed windows released, retention applied): `90s`,
    /// `15m`, `1h`, `1d`; `0` only on demand (POST /v1/admin/rebuild). [default: 1h]
    #[arg(
        long,
        env = "KINDRED_REBUILD_EVERY",
        value_name = "DURATION",
        help_heading = "Admin"
    )]
    pub rebuild_every: Option<String>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s.trim() {
        "threshold" => Ok(Mode::Threshold),
        "ldp" => Ok(Mode::Ldp),
        other => Err(format!(
            "unknown mode \"{other}\": use threshold and/or ldp"
        )),
    }
}

/// The TOML file: the same settings, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database: Option<String>,
    retention_days: Option<u32>,
    site: Option<String>,
    modes: Option<Vec<String>>,
    k: Option<u64>,
    epsilon: Option<f64>,
    delta: Option<f64>,
    window_days: Option<u32>,
    presence_delta: Option<f64>,
    ldp_epsilon: Option<f64>,
    ldp_set_size: Option<u32>,
    catalog: Option<PathBuf>,
    release_delay_days: Option<u32>,
    log: Option<String>,
    caps: Option<Caps>,
    listen: Option<String>,
    allowed_origins: Option<Vec<String>>,
    static_dir: Option<PathBuf>,
    rate_limit: Option<u32>,
    client_ip_header: Option<String>,
    drain_seconds: Option<u64>,
    admin_token: Option<String>,
    rebuild_every: Option<String>,
}

impl FileConfig {
    fn load(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

/// How reports are accepted and released.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacySettings {
    /// Modes accepted (never `off`, never empty).
    pub modes: Vec<Mode>,
    /// k, epsilon, delta, window length, presence delta, caps and LDP parameters, as the
    /// core aggregator takes them.
    pub aggregation: AggregationConfig,
    /// See [`CommonArgs::release_delay_days`].
    pub release_delay_days: u32,
    /// See [`CommonArgs::catalog`].
    pub catalog: Option<PathBuf>,
}

impl PrivacySettings {
    /// The window reports made on `day` belong to.
    pub fn window_of(&self, day: u32) -> Period {
        let days = self.aggregation.window_days;
        Period::new(window_of(day, days), days)
    }

    /// Whether `period` may be released on `today`: it ended more than `release_delay_days`
    /// days ago, so no more reports for it are accepted ([`PrivacySettings::accepts`]).
    pub fn is_releasable(&self, period: Period, today: u32) -> bool {
        u64::from(period.last_day()) + u64::from(self.release_delay_days) < u64::from(today)
    }

    /// Whether reports for `period` are still accepted on `today`: until `release_delay_days`
    /// after its last day, and not before it begins, except that a device clock slightly
    /// ahead may report for the window of tomorrow.
    pub fn accepts(&self, period: Period, today: u32) -> bool {
        !self.is_releasable(period, today)
            && period.window <= self.window_of(today.saturating_add(1)).window
    }

    /// The last day of the newest window that can be released on `today`: what models are
    /// built as of (decay and trending are measured from there, since the windows after it
    /// have no release yet). `None` before the first window could close.
    pub fn newest_releasable_last_day(&self, today: u32) -> Option<u32> {
        let closed_by = today.checked_sub(self.release_delay_days)?;
        self.window_of(closed_by).window.checked_sub(1)
    }
}

/// Resolved settings shared by both commands.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub database: String,
    pub retention_days: u32,
    pub site: String,
    pub privacy: PrivacySettings,
    pub log: String,
}

/// Which cross-origin pages may use the public API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    Any,
    List(Vec<String>),
}

/// Resolved settings of `kindred serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeSettings {
    pub common: Settings,
    pub listen: SocketAddr,
    pub allowed_origins: AllowedOrigins,
    pub static_dir: PathBuf,
    /// 0: off.
    pub rate_limit_per_minute: u32,
    /// Lowercase header name.
    pub client_ip_header: Option<String>,
    pub drain: Duration,
    pub admin_token: Option<String>,
    /// `None`: only on demand.
    pub rebuild_every: Option<Duration>,
}

/// Longest time a report may wait for a window to be released; also the most days kept.
const MAX_DAYS: u32 = 3650;
/// Longest accepted release delay: late reports are for stragglers, not for holding windows
/// open (a browser reports a day at most `maxReportLagDays`, 30 at most, after it).
const MAX_RELEASE_DELAY_DAYS: u32 = 30;

impl Settings {
    /// Resolves flags/environment over the file over the defaults, and validates.
    pub fn resolve(args: &CommonArgs) -> Result<Settings, ConfigError> {
        let file = FileConfig::load(args.config.as_deref())?;
        Settings::from_parts(args, &file)
    }

    fn from_parts(args: &CommonArgs, file: &FileConfig) -> Result<Settings, ConfigError> {
        let modes = match (&args.modes, &file.modes) {
            (Some(m), _) => m.clone(),
            (None, Some(names)) => names
                .iter()
                .map(|n| parse_mode(n).map_err(|p| invalid("modes", p)))
                .collect::<Result<_, _>>()?,
            (None, None) => vec![Mode::Threshold],
        };
        let mut modes_dedup = Vec::new();
        for m in modes {
            if !modes_dedup.contains(&m) {
                modes_dedup.push(m);
            }
        }
        if modes_dedup.is_empty() {
            return Err(invalid("modes", "accept at least one of threshold, ldp"));
        }
        let defaults = AggregationConfig::default();
        let aggregation = AggregationConfig {
            epsilon: args.epsilon.or(file.epsilon).unwrap_or(defaults.epsilon),
            delta: args.delta.or(file.delta).unwrap_or(defaults.delta),
            k: args.k.or(file.k).unwrap_or(defaults.k),
            presence_delta: args.presence_delta.or(file.presence_delta),
            caps: file.caps.unwrap_or(defaults.caps),
            window_days: args
                .window_days
                .or(file.window_days)
                .unwrap_or(defaults.window_days),
            // Rounded as the clients round it (`PrivacyConfig::ldp`), so their reports match.
            ldp: kindred_core::PrivacyConfig {
                ldp_epsilon: args
                    .ldp_epsilon
                    .or(file.ldp_epsilon)
                    .unwrap_or(defaults.ldp.epsilon),
                ldp_set_size: args
                    .ldp_set_size
                    .or(file.ldp_set_size)
                    .unwrap_or(defaults.ldp.set_size),
                ..kindred_core::PrivacyConfig::default()
            }
            .ldp(),
            ..defaults
        };
        validate_privacy(&aggregation)?;
        let catalog = args.catalog.clone().or_else(|| file.catalog.clone());
        if modes_dedup.contains(&Mode::Ldp) && catalog.is_none() {
            return Err(invalid(
                "catalog",
                "mode ldp needs --catalog: LDP estimates are computed for the catalog's ids and interest keys",
            ));
        }
        let release_delay_days = args
            .release_delay_days
            .or(file.release_delay_days)
            .unwrap_or(DEFAULT_RELEASE_DELAY_DAYS);
        if release_delay_days > MAX_RELEASE_DELAY_DAYS {
            return Err(invalid(
                "release-delay-days",
                format!("{release_delay_days} is more than {MAX_RELEASE_DELAY_DAYS} days"),
            ));
        }
        let retention_days = args
            .retention_days
            .or(file.retention_days)
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        // The newest releasable window must be kept, or every release would be deleted at once.
        let shortest = aggregation.window_days + release_delay_days + 1;
        if retention_days < shortest || retention_days > MAX_DAYS {
            return Err(invalid(
                "retention-days",
                format!(
                    "{retention_days} must be at least window-days + release-delay-days + 1 ({shortest}), so the newest released window is kept, and at most {MAX_DAYS}"
                ),
            ));
        }
        let database = args
            .database
            .clone()
            .or_else(|| file.database.clone())
            .unwrap_or_else(|| "kindred.db".to_owned());
        if database.trim().is_empty() {
            return Err(invalid("database", "must not be empty"));
        }
        Ok(Settings {
            database,
            retention_days,
            site: args
                .site
                .clone()
                .or_else(|| file.site.clone())
                .unwrap_or_else(|| "kindred".to_owned()),
            privacy: PrivacySettings {
                modes: modes_dedup,
                aggregation,
                release_delay_days,
                catalog,
            },
            log: args
                .log
                .clone()
                .or_else(|| file.log.clone())
                .unwrap_or_else(|| "info".to_owned()),
        })
    }
}

/// Checks the privacy settings with the core ([`AggregationConfig::validate`]) and the
/// clients' ranges ([`kindred_core::PrivacyConfig::validate`]), naming the server's setting.
fn validate_privacy(aggregation: &AggregationConfig) -> Result<(), ConfigError> {
    use kindred_core::aggregate::AggregateError;
    aggregation.validate().map_err(|e| match e {
        AggregateError::Config { field, problem } => {
            let name = match field {
                "epsilon" => "epsilon",
                "delta" => "delta",
                "k" => "k",
                "windowDays" => "window-days",
                "presenceDelta" => "presence-delta",
                "ldp" => "ldp-epsilon/ldp-set-size",
                _ => "privacy",
            };
            invalid(name, problem)
        }
        other => invalid("privacy", other.to_string()),
    })?;
    // The clients accept only these ranges: a server outside them could never be matched.
    let clients = aggregation.client_privacy();
    clients.validate().map_err(|e| {
        let name = match e.field {
            "privacy.windowDays" => "window-days",
            "privacy.ldpEpsilon" => "ldp-epsilon",
            "privacy.ldpSetSize" => "ldp-set-size",
            "privacy.delta" => "delta",
            "privacy.epsilonPerWindow" => "epsilon",
            _ => "caps",
        };
        invalid(
            name,
            format!(
                "{} (the clients' {} must equal it, and they accept no other value)",
                e.problem, e.field
            ),
        )
    })
}

impl ServeSettings {
    /// Resolves flags/environment over the file over the defaults, and validates.
    pub fn resolve(args: &ServeArgs) -> Result<ServeSettings, ConfigError> {
        let file = FileConfig::load(args.common.config.as_deref())?;
        let common = Settings::from_parts(&args.common, &file)?;
        let listen = match (args.listen, &file.listen) {
            (Some(a), _) => a,
            (None, Some(s)) => s
                .parse()
                .map_err(|e| invalid("listen", format!("\"{s}\": {e}")))?,
            (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let origins = args
            .allowed_origins
            .clone()
            .or_else(|| file.allowed_origins.clone())
            .unwrap_or_default();
        let rebuild = args
            .rebuild_every
            .clone()
            .or_else(|| file.rebuild_every.clone())
            .unwrap_or_else(|| "1h".to_owned());
        let client_ip_header = args
            .client_ip_header
            .clone()
            .or_else(|| file.client_ip_header.clone())
            .map(|h| h.trim().to_ascii_lowercase());
        if let Some(h) = &client_ip_header {
            axum::http::HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                invalid("client-ip-header", format!("\"{h}\" is not a header name"))
            })?;
        }
        let admin_token = args
            .admin_token
            .clone()
            .or_else(|| file.admin_token.clone())
            .filter(|t| !t.is_empty());
        if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid(
                "admin-token",
                "must be at least 16 characters (e.g. `openssl rand -hex 16`)",
            ));
        }
        // HTTP trims the spaces around a header value, so a token with spaces at either end
        // could never be presented; one of spaces only would be a guessable secret.
        if admin_token.as_ref().is_some_and(|t| t.trim() != t) {
            return Err(invalid(
                "admin-token",
                "must not start or end with whitespace (a token file's trailing newline?)",
            ));
        }
        let static_dir = args
            .static_dir
            .clone()
            .or_else(|| file.static_dir.clone())
            .unwrap_or_else(|| PathBuf::from("www"));
        if database_is_served(&common.database, &static_dir) {
            return Err(invalid(
                "static-dir",
                format!(
                    "{} would serve the database {} to anyone: put one outside the other",
                    static_dir.display(),
                    common.database
                ),
            ));
        }
        Ok(ServeSettings {
            common,
            listen,
            allowed_origins: parse_origins(&origins)?,
            static_dir,
            rate_limit_per_minute: args.rate_limit.or(file.rate_limit).unwrap_or(60),
            client_ip_header,
            drain: Duration::from_secs(args.drain_seconds.or(file.drain_seconds).unwrap_or(0)),
            admin_token,
            rebuild_every: Some(parse_duration(&rebuild).map_err(|p| invalid("rebuild-every", p))?)
                .filter(|d| !d.is_zero()),
        })
    }
}

/// Whether the database file lies inside the static directory (compared as absolute paths,
/// without resolving links: the file may not exist yet).
fn database_is_served(database: &str, static_dir: &Path) -> bool {
    let db = Path::new(database.strip_prefix("sqlite:").unwrap_or(database));
    match (std::path::absolute(db), std::path::absolute(static_dir)) {
        (Ok(db), Ok(dir)) => {
            // Lexically resolve `.` and `..` (absolute() keeps them on Unix).
            let normal = |p: &Path| -> PathBuf {
                let mut out = PathBuf::new();
                for c in p.components() {
                    match c {
                        std::path::Component::ParentDir => {
                            out.pop();
                        }
                        std::path::Component::CurDir => {}
                        other => out.push(other),
                    }
                }
                out
            };
            normal(&db).starts_with(normal(&dir))
        }
        _ => false,
    }
}

/// `*`, or exact origins `scheme://host[:port]`.
fn parse_origins(list: &[String]) -> Result<AllowedOrigins, ConfigError> {
    let list: Vec<&str> = list
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if list.contains(&"*") {
        return Ok(AllowedOrigins::Any);
    }
    let mut out = Vec::new();
    for origin in list {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let ok = rest.is_some_and(|host| {
            !host.is_empty() && !host.contains('/') && host.chars().all(|c| c.is_ascii_graphic())
        });
        if !ok {
            return Err(invalid(
                "allowed-origins",
                format!("\"{origin}\" is not an origin like https://shop.example (scheme and host, no path)"),
            ));
        }
        out.push(origin.to_ascii_lowercase());
    }
    Ok(AllowedOrigins::List(out))
}

/// `90`, `90s`, `15m`, `1h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration like 90s, 15m, 1h or 1d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => kindred_core::DAY_MS as u64 / 1000,
        _ => return Err(format!("\"{text}\": the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documentation() {
        let s = ServeSettings::resolve(&ServeArgs::default()).expect("defaults are valid");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.common.database, "kindred.db");
        assert_eq!(s.common.privacy.modes, vec![Mode::Threshold]);
        assert_eq!(s.common.privacy.aggregation, AggregationConfig::default());
        assert_eq!(s.common.retention_days, 400);
        assert_eq!(s.common.privacy.release_delay_days, 1);
        let agg = &s.common.privacy.aggregation;
        assert_eq!((agg.epsilon, agg.delta, agg.k), (4.0, 1e-6, 10));
        assert_eq!((agg.window_days, agg.ldp.epsilon), (30, 1.0));
        assert_eq!(s.static_dir, PathBuf::from("www"));
        assert_eq!(s.rebuild_every, Some(Duration::from_secs(3600)));
        assert_eq!(s.allowed_origins, AllowedOrigins::List(vec![]));
        assert_eq!(s.rate_limit_per_minute, 60);
        assert_eq!(s.admin_token, None);
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file: FileConfig = toml::from_str(
            r#"
            k = 25
            epsilon = 2.0
            delta = 1e-7
            window_days = 7
            ldp_epsilon = 0.5
            retention_days = 30
            modes = ["threshold", "ldp"]
            catalog = "catalog.json"
            allowed_origins = ["https://shop.example"]
            [caps]
            items = 8
            "#,
        )
        .expect("valid toml");
        let args = CommonArgs {
            k: Some(50),
            ..CommonArgs::default()
        };
        let s = Settings::from_parts(&args, &file).expect("valid");
        assert_eq!(s.privacy.aggregation.k, 50, "flag wins");
        assert_eq!(s.privacy.aggregation.epsilon, 2.0, "file wins over default");
        assert_eq!(s.privacy.aggregation.delta, 1e-7);
        assert_eq!(s.privacy.aggregation.window_days, 7);
        assert_eq!(s.privacy.aggregation.ldp.epsilon, 0.5);
        assert_eq!(s.privacy.aggregation.caps.items, 8);
        assert_eq!(
            s.privacy.aggregation.caps.pairs,
            Caps::default().pairs,
            "other caps keep defaults"
        );
        assert_eq!(s.privacy.modes, vec![Mode::Threshold, Mode::Ldp]);
        assert_eq!(s.retention_days, 30);
    }

    #[test]
    fn bad_settings_are_refused_with_the_setting_named() {
        let bad_file = toml::from_str::<FileConfig>("retention = 3").expect_err("unknown key");
        assert!(
            bad_file.to_string().contains("unknown field `retention`"),
            "{bad_file}"
        );
        let cases: Vec<(CommonArgs, &str)> = vec![
            (
                CommonArgs {
                    modes: Some(vec![Mode::Ldp]),
                    ..CommonArgs::default()
                },
                "mode ldp needs --catalog",
            ),
            (
                CommonArgs {
                    epsilon: Some(0.0),
                    ..CommonArgs::default()
                },
                "epsilon",
            ),
            (
                CommonArgs {
                    k: Some(0),
                    ..CommonArgs::default()
                },
                "setting k: must be at least 1",
            ),
            (
                CommonArgs {
                    delta: Some(0.5),
                    ..CommonArgs::default()
                },
                "setting delta: delta must be a number in (0, 0.001]",
            ),
            (
                CommonArgs {
                    window_days: Some(0),
                    ..CommonArgs::default()
                },
                "setting window-days",
            ),
            (
                CommonArgs {
                    window_days: Some(400),
                    ..CommonArgs::default()
                },
                "privacy.windowDays",
            ),
            (
                CommonArgs {
                    ldp_epsilon: Some(11.0),
                    ..CommonArgs::default()
                },
                "setting ldp-epsilon",
            ),
            (
                CommonArgs {
                    retention_days: Some(31),
                    ..CommonArgs::default()
                },
                "retention-days: 31 must be at least window-days + release-delay-days + 1 (32)",
            ),
            (
                CommonArgs {
                    release_delay_days: Some(31),
                    ..CommonArgs::default()
                },
                "release-delay-days: 31 is more than 30 days",
            ),
        ];
        for (args, expected) in cases {
            let err = Settings::from_parts(&args, &FileConfig::default()).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err}");
        }
        assert!(parse_origins(&["https://shop.example/".into()]).is_err());
        assert!(parse_origins(&["shop.example".into()]).is_err());
        assert_eq!(
            parse_origins(&["https://Shop.example:8443".into()]).expect("valid"),
            AllowedOrigins::List(vec!["https://shop.example:8443".into()])
        );
        assert_eq!(
            parse_origins(&["https://a.example".into(), "*".into()]).expect("valid"),
            AllowedOrigins::Any
        );
        let exposed = ServeArgs {
            common: CommonArgs {
                database: Some("www/kindred.db".into()),
                ..CommonArgs::default()
            },
            ..ServeArgs::default()
        };
        let err = ServeSettings::resolve(&exposed).expect_err("database inside www");
        assert!(
            err.to_string().contains("would serve the database"),
            "{err}"
        );
        let dot = ServeArgs {
            static_dir: Some(PathBuf::from("www/..")),
            ..ServeArgs::default()
        };
        assert!(ServeSettings::resolve(&dot).is_err(), "kindred.db inside .");
        let short = ServeArgs {
            admin_token: Some("short".into()),
            ..ServeArgs::default()
        };
        assert!(ServeSettings::resolve(&short).is_err());
        for spaced in [" ".repeat(20), format!("{}\n", "a".repeat(20))] {
            let args = ServeArgs {
                admin_token: Some(spaced.clone()),
                ..ServeArgs::default()
            };
            let err = ServeSettings::resolve(&args).expect_err("whitespace token");
            assert!(err.to_string().contains("whitespace"), "{spaced:?}: {err}");
        }
    }

    #[test]
    fn windows_take_reports_until_their_delay_then_are_released() {
        let s = Settings::resolve(&CommonArgs::default()).expect("defaults");
        let p = &s.privacy;
        // Day 20600 is in the window 20580 to 20609.
        let w = Period::new(20_580, 30);
        assert_eq!(p.window_of(20_600), w);
        assert!(
            p.accepts(w, 20_580) && p.accepts(w, 20_610),
            "open, then its delay day"
        );
        assert!(!p.accepts(w, 20_611) && p.is_releasable(w, 20_611));
        assert!(!p.is_releasable(w, 20_610));
        let next = Period::new(20_610, 30);
        assert!(p.accepts(next, 20_609), "a clock a day ahead");
        assert!(!p.accepts(next, 20_608), "a future window");
        assert_eq!(p.newest_releasable_last_day(20_610), Some(20_579));
        assert_eq!(p.newest_releasable_last_day(20_611), Some(20_609));
        assert_eq!(p.newest_releasable_last_day(0), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(24 * 3600)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }
}
