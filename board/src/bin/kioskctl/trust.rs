//! `kioskctl trust list|import|check`: the trust store of passive
//! authentication for staff (docs/security.md, "Trust store").

use anyhow::Context as _;
use kiosk_board::config::Config;
use kiosk_board::services::truststore::{self, FileKind};
use kiosk_firmware::icao::pki::{self, Anchor};
use std::path::Path;
use std::process::ExitCode;

fn now_unix() -> u64 {
    kiosk_board::app::wall_clock_now().0 / 1000
}

fn anchor_json(a: &Anchor) -> serde_json::Value {
    let tbs = a.certificate.tbs_certificate();
    let v = tbs.validity();
    serde_json::json!({
        "subject": tbs.subject().to_string(),
        "issuer": tbs.issuer().to_string(),
        "serial": hex::encode_upper(tbs.serial_number().as_bytes()),
        "not_before": v.not_before.to_string(),
        "not_after": v.not_after.to_string(),
        "key_algorithm": pki::key_algorithm(&a.certificate),
        "source": a.source,
    })
}

/// `kioskctl trust list`.
pub(crate) fn list(json: bool, config: &Config) -> anyhow::Result<ExitCode> {
    let now = now_unix();
    let loaded = truststore::load(&config.kiosk, now)?;
    let store = &loaded.store;
    let anchors: Vec<serde_json::Value> = store.anchors().iter().map(anchor_json).collect();
    let crls: Vec<serde_json::Value> = store
        .crls()
        .iter()
        .map(|c| {
            serde_json::json!({
                "issuer": c.issuer().to_string(),
                "this_update": pki::utc(c.this_update),
                "next_update": pki::utc(c.next_update),
                "expired": now > c.next_update,
                "revoked": c.revoked_count(),
            })
        })
        .collect();
    let ml_anchors: Vec<String> = store
        .master_list_anchors()
        .iter()
        .map(|c| c.tbs_certificate().subject().to_string())
        .collect();
    if json {
        let out = serde_json::json!({
            "anchors": anchors,
            "crls": crls,
            "master_list_anchors": ml_anchors,
            "require_crl": store.requires_crl(),
            "files": loaded.files,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("CSCA anchors ({}):", anchors.len());
        for a in &anchors {
            println!(
                "  {}  serial {}  {} .. {}  {}  from {}",
                a["subject"].as_str().unwrap_or_default(),
                a["serial"].as_str().unwrap_or_default(),
                a["not_before"].as_str().unwrap_or_default(),
                a["not_after"].as_str().unwrap_or_default(),
                a["key_algorithm"].as_str().unwrap_or_default(),
                a["source"]["kind"].as_str().unwrap_or_default(),
            );
        }
        println!("CRLs ({}):", crls.len());
        for c in &crls {
            println!(
                "  {}  next update {}{}  {} revoked",
                c["issuer"].as_str().unwrap_or_default(),
                c["next_update"].as_str().unwrap_or_default(),
                if c["expired"].as_bool().unwrap_or(true) {
                    " (EXPIRED)"
                } else {
                    ""
                },
                c["revoked"],
            );
        }
        println!("Master-list signer anchors ({}):", ml_anchors.len());
        for s in &ml_anchors {
            println!("  {s}");
        }
        for f in loaded.rejected() {
            println!("REJECTED {}: {}", f.path.display(), f.detail);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kioskctl trust check`: exit 1 on any problem.
pub(crate) fn check(json: bool, config: &Config) -> anyhow::Result<ExitCode> {
    let now = now_unix();
    let loaded = truststore::load(&config.kiosk, now)?;
    let problems = loaded.store.problems(now);
    let rejected: Vec<_> = loaded.rejected().cloned().collect();
    let ok = problems.is_empty() && rejected.is_empty();
    if json {
        let out = serde_json::json!({
            "ok": ok,
            "anchors": loaded.store.anchors().len(),
            "crls": loaded.store.crls().len(),
            "problems": problems,
            "rejected": rejected,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for f in &rejected {
            println!("REJECTED {}: {}", f.path.display(), f.detail);
        }
        for p in &problems {
            println!("PROBLEM {}", truststore::describe_problem(p));
        }
        if ok {
            println!(
                "trust store ok: {} CSCA anchor(s), {} CRL(s)",
                loaded.store.anchors().len(),
                loaded.store.crls().len()
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a file holds, when `--kind` is not given: a CRL, a master list (a
/// CMS ContentInfo) or certificates.
fn detect(bytes: &[u8]) -> FileKind {
    if pki::parse_crl(bytes).is_ok() {
        FileKind::Crl
    } else if pki::parse_certificates(bytes).is_ok() {
        FileKind::Csca
    } else {
        FileKind::MasterList
    }
}

/// `kioskctl trust import FILE`: validates the file against the store as
/// configured, then copies it into its folder. Exit 1 when it does not
/// validate (nothing is copied).
pub(crate) fn import(
    json: bool,
    config: &Config,
    file: &Path,
    kind: Option<FileKind>,
) -> anyhow::Result<ExitCode> {
    let now = now_unix();
    let bytes = std::fs::read(file).with_context(|| file.display().to_string())?;
    let kind = kind.unwrap_or_else(|| detect(&bytes));
    let folder = kind
        .folder(&config.kiosk)
        .with_context(|| format!("{} is not configured", kind.key()))?
        .to_path_buf();
    let name = file.file_name().context("the file has no name")?;
    let target = folder.join(name);
    let mut store = truststore::load(&config.kiosk, now)?.store;
    let before = store.problems(now);
    let unresolved_before = store.unresolved().count();
    let result = truststore::add_file(&mut store, kind, &bytes, now).and_then(|added| {
        if store.unresolved().count() > unresolved_before {
            return Err(
                "a CSCA certificate that is neither self-signed nor signed by a trusted CSCA (a link certificate without its predecessor)"
                    .to_owned(),
            );
        }
        // What the file itself breaks refuses it; a CSCA still waiting
        // for its CRL is the next import, not a reason to refuse this one.
        let (follow_up, blocking): (Vec<_>, Vec<_>) = store
            .problems(now)
            .into_iter()
            .filter(|p| !before.contains(p))
            .partition(|p| matches!(p, pki::Problem::CrlMissing { .. }));
        if blocking.is_empty() {
            Ok(follow_up
                .iter()
                .map(truststore::describe_problem)
                .fold(added, |acc, p| format!("{acc}; next: {p}")))
        } else {
            Err(blocking
                .iter()
                .map(truststore::describe_problem)
                .collect::<Vec<_>>()
                .join("; "))
        }
    });
    let (ok, detail) = match result {
        Ok(added) => {
            if target.exists() && std::fs::read(&target)? != bytes {
                anyhow::bail!(
                    "{} already exists with other content; rename the file to import",
                    target.display()
                );
            }
            std::fs::create_dir_all(&folder).with_context(|| folder.display().to_string())?;
            std::fs::write(&target, &bytes).with_context(|| target.display().to_string())?;
            (true, added)
        }
        Err(why) => (false, why),
    };
    if json {
        let out = serde_json::json!({
            "ok": ok,
            "kind": kind,
            "detail": detail,
            "path": ok.then(|| target.display().to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if ok {
        println!("imported into {}: {detail}", target.display());
    } else {
        println!("NOT imported: {detail}");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
