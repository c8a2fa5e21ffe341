//! `kioskctl stats`: the usage metrics (no personal data) of a day and
//! since the database was created, read beside a running kiosk through a
//! read-only connection; or, with `--prometheus`, the same text the
//! `[metrics]` endpoint serves (for node exporter's textfile collector).

use anyhow::{Context as _, bail};
use kiosk_board::config::Config;
use kiosk_firmware::metrics::{Metric, Usage};
use kiosk_firmware::store::Store;
use std::process::ExitCode;

/// `--day` as `YYYYMMDD`: accepts `YYYY-MM-DD` or `YYYYMMDD`.
fn day_key(day: &str) -> anyhow::Result<String> {
    let key: String = day.chars().filter(|c| *c != '-').collect();
    let valid = key.len() == 8
        && key.bytes().all(|b| b.is_ascii_digit())
        && (day.len() == 8 || day.len() == 10);
    if !valid {
        bail!("--day must be YYYY-MM-DD or YYYYMMDD, not {day:?}");
    }
    Ok(key)
}

fn open(config: &Config) -> anyhow::Result<Store> {
    let path = config.kiosk.database_path();
    if !path.exists() {
        bail!(
            "no database at {} yet: the kiosk has not run with this configuration",
            path.display()
        );
    }
    Store::open_reader(&path).with_context(|| format!("cannot read {}", path.display()))
}

fn print_usage(title: &str, usage: &Usage) {
    println!("{title}");
    for metric in Metric::ALL {
        let total = usage.total(metric);
        let labels: Vec<String> = usage
            .counts
            .iter()
            .filter(|c| c.metric == metric.name() && !c.label.is_empty())
            .map(|c| format!("{} {}", c.label, c.count))
            .collect();
        if labels.is_empty() {
            println!("  {:<20} {total}", metric.name());
        } else {
            println!("  {:<20} {total} ({})", metric.name(), labels.join(", "));
        }
    }
}

/// Runs `stats`.
pub(crate) fn stats(
    json: bool,
    config: &Config,
    day: Option<&str>,
    prometheus: bool,
) -> anyhow::Result<ExitCode> {
    if prometheus {
        let text = kiosk_board::services::metrics::exposition(&config.kiosk.database_path())
            .context("cannot read the usage counts")?;
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let store = open(config)?;
    let day = match day {
        Some(d) => day_key(d)?,
        None => kiosk_firmware::store::usage::day_of(kiosk_board::app::wall_clock_now())
            .context("the clock is outside the calendar")?,
    };
    let snapshot = kiosk_board::services::metrics::snapshot(&store, &day)?;
    if json {
        let mut value = serde_json::to_value(&snapshot)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("ok".into(), true.into());
        }
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    print_usage(&format!("day {day}"), &snapshot.today);
    match snapshot.satisfaction_today {
        Some(s) => println!(
            "  satisfaction         {:.1} % ({} of {} ratings 4-5)",
            s.share * 100.0,
            s.satisfied,
            s.rated
        ),
        None => println!("  satisfaction         no ratings"),
    }
    if let Some(rate) = snapshot.identification_rate_today {
        println!("  identification rate  {:.1} %", rate * 100.0);
    }
    print_usage("since the database was created", &snapshot.totals);
    let g = &snapshot.gauges;
    println!(
        "outbox: {} waiting, {} refused; printer: {}",
        g.outbox_pending, g.outbox_failed, g.printer
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::day_key;

    #[test]
    fn days_are_taken_with_or_without_dashes() {
        assert_eq!(day_key("2026-11-25").unwrap(), "20261125");
        assert_eq!(day_key("20261125").unwrap(), "20261125");
        assert!(day_key("25/11/2026").is_err());
        assert!(day_key("2026-1-25").is_err());
    }
}
