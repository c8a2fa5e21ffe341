//! `kioskctl request submit | status | cancel` and `kioskctl outbox list |
//! flush | retry`: online requests as staff and testers handle them, on
//! the configured board's store, outbox key and portal, with JSON that
//! scripts rely on.
//!
//! Every command that opens the outbox first puts rows a crash left
//! `sending` back to `pending` (start-up recovery); `KIOSK_CRASH_AT`
//! aborts at a crash point (see `kiosk_board::services::requesting`).

use anyhow::{Context as _, bail};
use kiosk_board::config::Config;
use kiosk_board::services::requesting::{Randomness, Requesting};
use kiosk_firmware::cccd::dg13::Citizen;
use kiosk_firmware::requests::delivery::PortalClient as _;
use kiosk_firmware::requests::receipt::ReceiptState;
use kiosk_firmware::session::Verification;
use kiosk_firmware::store::Store;
use serde::Deserialize;
use std::path::Path;
use std::process::ExitCode;
use zeroize::Zeroize;

/// The citizen file: DG13's fields as `kioskctl card read --json` names
/// them, and optionally the values the citizen typed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CitizenFile {
    id_number: String,
    full_name: String,
    date_of_birth: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    nationality: String,
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    religion: String,
    #[serde(default)]
    place_of_origin: String,
    #[serde(default)]
    place_of_residence: String,
    #[serde(default)]
    date_of_issue: String,
    #[serde(default)]
    father_name: Option<String>,
    #[serde(default)]
    mother_name: Option<String>,
    #[serde(default)]
    spouse_name: Option<String>,
    #[serde(default)]
    old_id_number: Option<String>,
    /// Field name → value, as the citizen typed them.
    #[serde(default)]
    entered: std::collections::BTreeMap<String, String>,
}

impl Drop for CitizenFile {
    fn drop(&mut self) {
        for s in [
            &mut self.id_number,
            &mut self.full_name,
            &mut self.date_of_birth,
            &mut self.sex,
            &mut self.nationality,
            &mut self.ethnicity,
            &mut self.religion,
            &mut self.place_of_origin,
            &mut self.place_of_residence,
            &mut self.date_of_issue,
        ] {
            s.zeroize();
        }
        for s in [
            &mut self.father_name,
            &mut self.mother_name,
            &mut self.spouse_name,
            &mut self.old_id_number,
        ] {
            s.zeroize();
        }
        for v in self.entered.values_mut() {
            v.zeroize();
        }
    }
}

impl CitizenFile {
    fn citizen(&self) -> Citizen {
        let mut c = Citizen::default();
        c.id_number = self.id_number.clone();
        c.full_name = self.full_name.clone();
        c.date_of_birth = self.date_of_birth.clone();
        c.sex = self.sex.clone();
        c.nationality = self.nationality.clone();
        c.ethnicity = self.ethnicity.clone();
        c.religion = self.religion.clone();
        c.place_of_origin = self.place_of_origin.clone();
        c.place_of_residence = self.place_of_residence.clone();
        c.date_of_issue = self.date_of_issue.clone();
        c.father_name = self.father_name.clone();
        c.mother_name = self.mother_name.clone();
        c.spouse_name = self.spouse_name.clone();
        c.old_id_number = self.old_id_number.clone();
        c
    }
}

fn requesting(config: &Config) -> anyhow::Result<Requesting> {
    Requesting::from_config(config).with_context(|| {
        format!(
            "{} has no [requests] section: this kiosk files no requests",
            config.path.display()
        )
    })
}

/// Opens the store and recovers rows a crash left `sending`.
fn open(config: &Config) -> anyhow::Result<Store> {
    let mut store = kiosk_board::app::open_store(config)?;
    let n = store.outbox_requeue_claimed()?;
    if n > 0 {
        tracing::warn!(rows = n, "outbox rows cut off mid-send put back to pending");
    }
    Ok(store)
}

fn client(
    config: &Config,
) -> anyhow::Result<(
    kiosk_board::online::portal::client::HttpsPortal,
    Option<kiosk_board::online::portal::server::PortalHandle>,
)> {
    kiosk_board::app::portal_client(config, false)?.context("no [requests] section")
}

fn print_json(v: &serde_json::Value) {
    println!("{v}");
}

/// `request submit`.
#[expect(clippy::too_many_arguments, reason = "one CLI command's options")]
pub(crate) fn submit(
    json: bool,
    config: &Config,
    procedure: &str,
    citizen_file: &Path,
    fields: &[String],
    consent: bool,
    printer: Option<&str>,
    no_print: bool,
) -> anyhow::Result<ExitCode> {
    let requesting = requesting(config)?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(citizen_file)
            .with_context(|| format!("cannot read {}", citizen_file.display()))?,
    );
    let file: CitizenFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a citizen file", citizen_file.display()))?;
    let citizen = file.citizen();
    let mut form = requesting.prefill(procedure, &citizen)?;
    let mut entered: Vec<(String, String)> = file
        .entered
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for f in fields {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("--field {f:?}: give NAME=VALUE"))?;
        entered.push((k.to_owned(), v.to_owned()));
    }
    for (k, v) in &entered {
        form.set(k, v).with_context(|| format!("--field {k}"))?;
    }
    entered.zeroize();
    let p = requesting.procedure(procedure)?;
    if let Err(problems) = form.validate(p) {
        if json {
            print_json(
                &serde_json::json!({ "ok": false, "state": "invalid", "problems": problems }),
            );
        } else {
            println!("the form has problems:");
            for x in &problems {
                println!("  {}: {}", x.field, x.message_en);
            }
        }
        return Ok(ExitCode::from(1));
    }
    if !consent {
        bail!(
            "the citizen's explicit consent is required (PDP Law 91/2025/QH15): show them the \
             notice (`kioskctl request consent --procedure {procedure}`) and pass --consent once \
             they agreed; silence is not consent"
        );
    }
    let notice = requesting.consent_notice(procedure, Verification::StaffConfirmed)?;
    let mut store = open(config)?;
    let (mut client, _portal) = client(config)?;
    let mut rng = Randomness::from_os().context("OS entropy")?;
    let now = kiosk_board::app::wall_clock_now();
    let filed = requesting.file(
        &mut store,
        &mut client,
        &form,
        &notice,
        now,
        Verification::StaffConfirmed,
        now,
        &mut rng,
    )?;
    drop(form);
    let failed = filed
        .attempt
        .as_ref()
        .is_some_and(|a| a.outcome == "failed");
    let state = match (&filed.state, failed) {
        (ReceiptState::Delivered { .. }, _) => "delivered",
        (ReceiptState::Queued, true) => "failed",
        (ReceiptState::Queued, false) => "queued",
    };
    let dossier_code = match &filed.state {
        ReceiptState::Delivered { dossier_code, .. } => Some(dossier_code.clone()),
        ReceiptState::Queued => None,
    };
    let mut receipt = serde_json::Value::Null;
    if !no_print && !failed {
        let job =
            requesting.render_receipt(procedure, filed.state.clone(), &filed.reference, now)?;
        let (name, mut device) = crate::ticket::open_printer(printer, config)?;
        let report = requesting.print_receipt(device.as_mut(), &job);
        receipt = serde_json::json!({
            "printer": name,
            "printed": report.outcome.is_ok(),
            "problem": report.outcome.err().map(kiosk_board::services::ticketing::problem_code),
            "bytes": job.bytes.len(),
            "width": job.width,
            "height": job.height,
        });
    }
    if json {
        print_json(&serde_json::json!({
            "ok": !failed,
            "state": state,
            "reference": filed.reference,
            "idempotency_key": filed.idempotency_key,
            "dossier_code": dossier_code,
            "attempt": filed.attempt,
            "prefilled_fields": filed.counts.prefilled,
            "typed_fields": filed.counts.typed,
            "receipt": receipt,
        }));
    } else {
        match state {
            "delivered" => println!(
                "sent: dossier {} (reference {})",
                dossier_code.unwrap_or_default(),
                filed.reference
            ),
            "queued" => println!(
                "QUEUED, will be sent: reference {} ({})",
                filed.reference,
                filed
                    .attempt
                    .and_then(|a| a.detail)
                    .unwrap_or_else(|| "not attempted".into())
            ),
            _ => println!(
                "REFUSED by the portal: reference {} ({}); see `kioskctl outbox list`",
                filed.reference,
                filed.attempt.and_then(|a| a.detail).unwrap_or_default()
            ),
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `request consent`: the notice the citizen must agree to.
pub(crate) fn consent(json: bool, config: &Config, procedure: &str) -> anyhow::Result<ExitCode> {
    let notice = requesting(config)?.consent_notice(procedure, Verification::StaffConfirmed)?;
    if json {
        print_json(&serde_json::json!({
            "ok": true,
            "version": notice.version,
            "text_sha256": notice.text_sha256(),
            "text_vi": notice.text_vi,
            "text_en": notice.text_en,
        }));
    } else {
        println!("{}\n\n{}", notice.text_vi, notice.text_en);
    }
    Ok(ExitCode::SUCCESS)
}

/// `request status`.
pub(crate) fn status(json: bool, config: &Config, code: &str) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let local = store.request_receipt(code)?;
    let dossier = local
        .as_ref()
        .and_then(|r| r.dossier_code.clone())
        .or_else(|| {
            kiosk_firmware::requests::api::DossierCode::parse(code)
                .ok()
                .map(|c| c.to_string())
        });
    let mut portal = serde_json::Value::Null;
    let mut ok = local.is_some();
    if let Some(dossier) = &dossier {
        let (mut client, _handle) = client(config)?;
        portal = match client.status(dossier) {
            Ok(a) if a.status == 200 => {
                ok = true;
                serde_json::from_slice(&a.body).unwrap_or(serde_json::Value::Null)
            }
            Ok(a) => {
                serde_json::json!({ "http_status": a.status, "body": String::from_utf8_lossy(&a.body) })
            }
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
    }
    if json {
        print_json(&serde_json::json!({
            "ok": ok,
            "local": local,
            "dossier_code": dossier,
            "portal": portal,
        }));
    } else {
        match &local {
            Some(r) => println!(
                "{} ({}): {}{}",
                r.reference,
                r.procedure,
                r.state,
                r.dossier_code
                    .as_ref()
                    .map(|c| format!(", dossier {c}"))
                    .unwrap_or_default()
            ),
            None => println!("{code}: not filed at this kiosk"),
        }
        if !portal.is_null() {
            println!("portal: {portal}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `request cancel`.
pub(crate) fn cancel(json: bool, config: &Config, code: &str) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let dossier = match store.request_receipt(code)? {
        Some(r) => r.dossier_code.with_context(|| {
            format!(
                "{code} is still in the outbox (not yet at the portal): nothing to cancel there"
            )
        })?,
        None => code.to_owned(),
    };
    let (mut client, _handle) = client(config)?;
    let answer = client.cancel(&dossier)?;
    let ok = answer.status == 200;
    let body: serde_json::Value =
        serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
    if json {
        print_json(&serde_json::json!({ "ok": ok, "http_status": answer.status, "portal": body }));
    } else {
        println!("{dossier}: {} {body}", answer.status);
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `outbox list`.
pub(crate) fn list(json: bool, config: &Config) -> anyhow::Result<ExitCode> {
    let store = open(config)?;
    let rows = store.outbox_list()?;
    if json {
        print_json(&serde_json::json!({ "ok": true, "rows": rows }));
    } else if rows.is_empty() {
        println!("the outbox is empty");
    } else {
        for r in &rows {
            println!(
                "#{:<5} {} {:<10} {:?} attempts {} {}",
                r.id,
                r.reference,
                r.procedure,
                r.state,
                r.attempts,
                r.last_error.as_deref().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `outbox flush`: delivers every row due now (passes until none is due).
pub(crate) fn flush(json: bool, config: &Config, all: bool) -> anyhow::Result<ExitCode> {
    let requesting = requesting(config)?;
    let mut store = open(config)?;
    let (mut client, _handle) = client(config)?;
    let mut rng = Randomness::from_os().context("OS entropy")?;
    let mut outcomes = Vec::new();
    let now = kiosk_board::app::wall_clock_now();
    // `--now`: also the rows whose retry time has not come (staff want
    // them sent now).
    if all {
        store.outbox_due_now(now)?;
    }
    for _ in 0..1000 {
        let pass = requesting.flush(&mut store, &mut client, now, &mut rng)?;
        let retried = pass.iter().any(|o| o.outcome == "retry");
        let empty = pass.is_empty();
        outcomes.extend(pass);
        if empty || retried {
            break;
        }
    }
    let left = store.outbox_list()?;
    let ok = left.is_empty();
    if json {
        print_json(&serde_json::json!({ "ok": ok, "outcomes": outcomes, "left": left.len() }));
    } else {
        for o in &outcomes {
            println!(
                "{} {} {}",
                o.reference,
                o.outcome,
                o.dossier_code
                    .as_deref()
                    .or(o.detail.as_deref())
                    .unwrap_or("")
            );
        }
        println!("{} row(s) left in the outbox", left.len());
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `outbox retry ID`: staff send a failed row again.
pub(crate) fn retry(json: bool, config: &Config, id: i64) -> anyhow::Result<ExitCode> {
    let mut store = open(config)?;
    let ok = store.outbox_retry_failed(id, kiosk_board::app::wall_clock_now())?;
    if json {
        print_json(&serde_json::json!({ "ok": ok, "id": id }));
    } else if ok {
        println!("#{id} is pending again; `kioskctl outbox flush` sends it");
    } else {
        println!("#{id} is not a failed row");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `outbox discard ID`: staff give up on a failed row; its sealed payload
/// is deleted (the citizen files again at the counter).
pub(crate) fn discard(json: bool, config: &Config, id: i64) -> anyhow::Result<ExitCode> {
    let mut store = open(config)?;
    let ok = store.outbox_discard_failed(id)?;
    if json {
        print_json(&serde_json::json!({ "ok": ok, "id": id }));
    } else if ok {
        println!("#{id} discarded: its data is deleted from the kiosk");
    } else {
        println!("#{id} is not a failed row");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
