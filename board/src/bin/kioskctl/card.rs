//! `kioskctl card read` and `kioskctl card emulate`.

use super::CardRead;
use anyhow::{Context as _, bail};
#[cfg(feature = "pcsc")]
use kiosk_board::drivers::Erased;
use kiosk_board::drivers::ReaderDevice;
use kiosk_board::services::reading::{ReadStats, read_document};
use kiosk_firmware::cccd::{self, KeyCandidate, date::Date, id::IdNumber, qr::CardQr};
use kiosk_firmware::icao::lds::File;
use kiosk_firmware::icao::reader::{ReadError, ReadOptions};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

fn keys(args: &CardRead) -> anyhow::Result<Vec<KeyCandidate>> {
    let mut keys = Vec::new();
    if let Some(qr) = &args.qr {
        keys.extend(cccd::keys_from_qr(&CardQr::parse(qr).context("--qr")?));
    }
    if let Some(can) = &args.can {
        if can.len() != 6 || !can.bytes().all(|b| b.is_ascii_digit()) {
            bail!("--can takes 6 digits");
        }
        keys.push(KeyCandidate::Can(can.clone()));
    }
    if let Some(mrz) = &args.mrz {
        let m = kiosk_firmware::icao::mrz::Mrz::parse(mrz).context("--mrz")?;
        keys.push(KeyCandidate::Mrz {
            document_number: m.document_number.clone(),
            date_of_birth: m.date_of_birth.clone(),
            date_of_expiry: m.date_of_expiry.clone(),
        });
    }
    if let (Some(id), Some(dob)) = (&args.id, &args.dob) {
        let id = IdNumber::parse(id).context("--id")?;
        match &args.expiry {
            Some(expiry) => {
                keys.push(KeyCandidate::Can(id.can().to_owned()));
                keys.push(KeyCandidate::Mrz {
                    document_number: id.document_number().to_owned(),
                    date_of_birth: dob.clone(),
                    date_of_expiry: expiry.clone(),
                });
            }
            None => {
                let today = Date::in_vietnam(kiosk_board::app::wall_clock_now().0)
                    .context("the system clock")?;
                keys.extend(cccd::keys_for(
                    &kiosk_firmware::session::AccessKey::IdAndBirthDate {
                        id_number: id.as_str().to_owned(),
                        date_of_birth: dob.clone(),
                    },
                    today,
                )?);
            }
        }
    }
    if keys.is_empty() {
        bail!("give an access key: --qr, --can, --mrz, or --id with --dob");
    }
    Ok(keys)
}

/// The access key the verification policy binds the chip to: the first
/// given of --qr, --id/--dob, --can, --mrz.
fn access_key(args: &CardRead) -> Option<kiosk_firmware::session::AccessKey> {
    use kiosk_firmware::session::AccessKey;
    if let Some(qr) = &args.qr {
        return Some(AccessKey::CardQr(qr.clone()));
    }
    if let (Some(id), Some(dob)) = (&args.id, &args.dob) {
        return Some(AccessKey::IdAndBirthDate {
            id_number: id.clone(),
            date_of_birth: dob.clone(),
        });
    }
    if let Some(can) = &args.can {
        return Some(AccessKey::Can(can.clone()));
    }
    args.mrz.as_ref().map(|m| AccessKey::Mrz(m.clone()))
}

fn open_reader(spec: &str) -> anyhow::Result<Box<dyn ReaderDevice>> {
    let (kind, rest) = spec
        .split_once(':')
        .context("--reader is pcsc:NAME, nfc:CONNSTRING or sim:PROFILE")?;
    match kind {
        #[cfg(feature = "pcsc")]
        "pcsc" => Ok(Box::new(Erased::new(
            "card_reader",
            kiosk_board::drivers::pcsc::PcscReader::open(rest, true)
                .with_context(|| format!("PC/SC reader {rest:?}"))?,
        ))),
        #[cfg(feature = "nfc")]
        "nfc" => Ok(Box::new(Erased::new(
            "card_reader",
            kiosk_board::drivers::nfc::NfcReader::open(rest, false)
                .with_context(|| format!("libnfc device {rest:?}"))?,
        ))),
        #[cfg(not(feature = "pcsc"))]
        "pcsc" => bail!("this kioskctl was built without PC/SC support (feature `pcsc`)"),
        #[cfg(not(feature = "nfc"))]
        "nfc" => bail!("this kioskctl was built without libnfc support (feature `nfc`)"),
        "sim" => sim_reader(kiosk_board::simulator::load_card(Path::new(rest))?),
        other => bail!("unknown reader kind {other:?}: pcsc, nfc or sim"),
    }
}

/// A simulated reader holding `chip`.
pub(crate) fn sim_reader(
    chip: kiosk_firmware::testkit::chip::VirtualChip,
) -> anyhow::Result<Box<dyn ReaderDevice>> {
    {
        {
            let config = kiosk_board::config::SimConfig {
                card_reader: kiosk_board::config::SimReaderConfig {
                    name: "kioskctl sim reader".into(),
                    extended_length: true,
                    cards_dir: None,
                },
                camera: kiosk_board::config::SimCameraConfig {
                    source: kiosk_board::config::FrameSource::Pattern {
                        width: 16,
                        height: 16,
                    },
                },
                printer: kiosk_board::config::SimPrinterConfig {
                    paper_width_mm: 80,
                    output_dir: None,
                },
            };
            let (devices, controls) = kiosk_board::simulator::SimBoard::build(&config)?;
            controls.insert_card(Box::new(chip));
            Ok(devices.reader)
        }
    }
}

fn report(
    doc: &kiosk_firmware::icao::reader::Document,
    stats: ReadStats,
    elapsed: Duration,
    trust: &kiosk_firmware::icao::pa::TrustList,
    args: &CardRead,
    online: Option<&kiosk_board::online::c06::C06Client>,
) -> anyhow::Result<(serde_json::Value, bool)> {
    use kiosk_firmware::icao::pa;
    use kiosk_firmware::trust::{self, MinimumGenuineness, Policy, Purpose, Requirement};
    let wall = kiosk_board::app::wall_clock_now().0;
    let now = wall / 1000;
    let today = Date::in_vietnam(wall).context("the system clock")?;
    let key = access_key(args).context("no access key")?;
    // The kiosk's verdict (firmware::trust), with the kiosk's default
    // policy, or one that accepts an unanchored chain for lab use.
    let (mut verdict, _) = trust::evaluate(doc, &key, trust, now, today);
    // The online check, as the kiosk asks it: only for an intact,
    // unanchored chain.
    let mut online_outcome = None;
    if let Some(client) = online
        && trust::needs_online(&verdict)
    {
        let (request, pending) = client.prepare(doc)?;
        let outcome = client.verify(&request, &pending, || kiosk_board::app::wall_clock_now().0);
        trust::apply_online(&mut verdict, &outcome);
        online_outcome = Some(kiosk_board::online::c06::outcome_codes(&outcome));
    }
    let policy = if args.allow_unanchored {
        let lab = Requirement {
            genuineness: MinimumGenuineness::Unanchored,
        };
        Policy {
            ticket: lab.clone(),
            priority_ticket: lab.clone(),
            online_request: lab,
            ..Policy::default()
        }
    } else {
        Policy::default()
    };
    let decision = trust::permits(&policy, &verdict, Purpose::Identify);
    // A chip that is not a CCCD (a passport: no DG13) is reported all the
    // same, with why it identifies no citizen: its MRZ from DG1 and its
    // photo, or why each does not parse.
    let id = cccd::identify(doc);
    let mrz = match &id {
        Ok(id) => Ok(id.mrz.clone()),
        Err(_) => match doc.files.get(&File::Dg(1)) {
            Some(dg1) => kiosk_firmware::icao::lds::parse_dg1(dg1).map_err(|e| e.to_string()),
            None => Err("DG1 was not read".to_owned()),
        },
    };
    let photo = match doc.files.get(&File::Dg(2)) {
        None => serde_json::Value::Null,
        Some(dg2) => match kiosk_firmware::icao::lds::parse_dg2(dg2) {
            Ok(f) => serde_json::json!({
                "format": f.format, "width": f.width, "height": f.height, "bytes": f.data.len(),
            }),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        },
    };
    let failed = |error: String| serde_json::json!({ "passive_authentication": { "verdict": "failed", "error": error } });
    let mut security = match doc.files.get(&File::Sod).map(|s| pa::parse_sod(s)) {
        Some(Ok(sod)) => {
            serde_json::json!({ "passive_authentication": pa::verify(&sod, &doc.files, trust, now) })
        }
        Some(Err(e)) => failed(e.to_string()),
        None => failed("the chip has no EF.SOD".into()),
    };
    security["active_authentication"] =
        serde_json::to_value(kiosk_firmware::icao::aa::check_document(doc))?;
    security["chip_authentication"] =
        serde_json::to_value(kiosk_firmware::icao::ca::check_document(doc))?;
    let genuine = decision.is_ok() && id.is_ok();
    Ok((
        serde_json::json!({
            "ok": genuine,
            "trust": verdict,
            "genuineness_source": verdict.genuineness.source(),
            "online_check": online_outcome,
            "decision": match &decision {
                Ok(()) => "accepted".to_owned(),
                Err(refusal) => refusal.code(),
            },
            "access_control": doc.access,
            "citizen": id.as_ref().ok().map(|id| {
                let c = &id.citizen;
                serde_json::json!({
                    "id_number": c.id_number,
                    "full_name": c.full_name,
                    "date_of_birth": c.date_of_birth,
                    "sex": c.sex,
                    "nationality": c.nationality,
                    "ethnicity": c.ethnicity,
                    "religion": c.religion,
                    "place_of_origin": c.place_of_origin,
                    "place_of_residence": c.place_of_residence,
                    "identifying_marks": c.identifying_marks,
                    "date_of_issue": c.date_of_issue,
                    "date_of_expiry": c.date_of_expiry,
                    "father_name": c.father_name,
                    "mother_name": c.mother_name,
                    "spouse_name": c.spouse_name,
                    "old_id_number": c.old_id_number,
                })
            }),
            "not_a_cccd": id.as_ref().err().map(ToString::to_string),
            "mrz": match &mrz {
                Ok(m) => serde_json::json!({
                    "document_code": m.document_code,
                    "issuer": m.issuer,
                    "document_number": m.document_number,
                    "date_of_birth": m.date_of_birth,
                    "date_of_expiry": m.date_of_expiry,
                    "no_expiry": m.has_no_expiry(),
                }),
                Err(e) => serde_json::json!({ "error": e }),
            },
            "photo": photo,
            "files": doc.files.iter().map(|(f, v)| (f.to_string(), v.len())).collect::<std::collections::BTreeMap<_, _>>(),
            // What independent readers are compared on (tests/tests/interop.rs).
            "file_sha256": doc.files.iter().map(|(f, v)| (f.to_string(), hex::encode(<sha2::Sha256 as sha2::Digest>::digest(v)))).collect::<std::collections::BTreeMap<_, _>>(),
            "unavailable": doc.unavailable.iter().map(|(f, sw)| format!("{f}: {sw}")).collect::<Vec<_>>(),
            "security": security,
            "apdus": stats.apdus,
            "bytes": stats.bytes,
            "extended_length": stats.extended_length,
            "fallbacks": stats.fallbacks,
            "resumed": doc.resumed,
            "elapsed_ms": elapsed.as_millis(),
        }),
        genuine,
    ))
}

/// `kioskctl card read`.
pub(crate) fn read(
    json: bool,
    args: &CardRead,
    online: Option<(
        std::sync::Arc<kiosk_board::online::c06::C06Client>,
        Option<kiosk_board::online::c06::server::C06Handle>,
    )>,
) -> anyhow::Result<ExitCode> {
    let keys = keys(args)?;
    let mut trust = kiosk_board::app::load_trust_list(args.csca.as_deref())?;
    if let Some(dir) = &args.crl {
        use kiosk_board::services::truststore::{FileKind, files_in};
        trust.set_require_crl(true);
        for path in files_in(dir, FileKind::Crl)? {
            let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
            trust
                .add_crl(&bytes)
                .with_context(|| format!("{} is not a CRL of a trusted CSCA", path.display()))?;
        }
    }
    let mut reader = open_reader(&args.reader)?;
    let seed = kiosk_board::services::reading::os_seed().context("OS entropy")?;
    let options = ReadOptions {
        extended_length: !args.short,
        ..ReadOptions::default()
    };
    #[expect(
        clippy::disallowed_methods,
        reason = "a command-line tool timing one read"
    )]
    let start = std::time::Instant::now();
    let (result, stats) = read_document(
        reader.as_mut(),
        keys,
        seed,
        options,
        |_, _| {},
        || start.elapsed(),
        kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
    );
    let elapsed = start.elapsed();
    let (value, ok) = match result {
        Ok(doc) => match report(
            &doc,
            stats,
            elapsed,
            &trust,
            args,
            online.as_ref().map(|(c, _)| c.as_ref()),
        ) {
            Ok((v, genuine)) => (v, genuine),
            Err(e) => (
                serde_json::json!({ "ok": false, "error": format!("{e:#}"), "apdus": stats.apdus, "fallbacks": stats.fallbacks }),
                false,
            ),
        },
        Err(e) => {
            let kind = match e {
                ReadError::WrongAccessKey | ReadError::NoUsableAccessControl => "wrong_access_key",
                ReadError::NotAnEmrtd => "not_an_id_card",
                ReadError::ChipAuthenticationFailed => "cloned_chip",
                ReadError::CardRemoved => "card_removed",
                ReadError::Transport(_) => "reader_failed",
                _ => "unreadable_card",
            };
            (
                serde_json::json!({ "ok": false, "error": kind, "message": e.to_string(), "apdus": stats.apdus, "fallbacks": stats.fallbacks }),
                false,
            )
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else if value["files"].is_object() {
        let c = &value["citizen"];
        if c.is_object() {
            println!(
                "{} ({})",
                c["full_name"].as_str().unwrap_or(""),
                c["id_number"].as_str().unwrap_or("")
            );
        } else {
            println!(
                "document {} ({})",
                value["mrz"]["document_number"].as_str().unwrap_or("?"),
                value["identify_error"].as_str().unwrap_or("")
            );
        }
        println!(
            "  read with {} in {} APDUs, {} bytes, {} ms",
            value["access_control"], value["apdus"], value["bytes"], value["elapsed_ms"]
        );
        println!("  photo: {}", value["photo"]);
        if value["fallbacks"].as_array().is_some_and(|f| !f.is_empty()) {
            println!("  fallbacks: {}", value["fallbacks"]);
        }
        println!(
            "  passive authentication: {}",
            value["security"]["passive_authentication"]["verdict"]
        );
        println!(
            "  active authentication: {}, chip authentication: {}",
            value["security"]["active_authentication"]["result"],
            value["security"]["chip_authentication"]["result"]
        );
        println!(
            "  genuineness: {} (source: {}); decision: {}",
            value["trust"]["genuineness"]["level"], value["genuineness_source"], value["decision"]
        );
        if value["decision"] == "chain_unanchored" {
            println!(
                "  the SOD is signed outside the trust list (--csca); --allow-unanchored accepts it for lab use"
            );
        }
    } else if value["decision"].is_string() {
        println!(
            "read, but not a CCCD ({}); MRZ {}",
            value["not_a_cccd"], value["mrz"]
        );
        println!(
            "  read with {} in {} APDUs; not available: {}",
            value["access_control"], value["apdus"], value["unavailable"]
        );
        println!(
            "  passive authentication: {}; decision: {}",
            value["security"]["passive_authentication"]["verdict"], value["decision"]
        );
    } else {
        println!(
            "card read failed: {} ({})",
            value["error"], value["message"]
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `kioskctl card emulate`: serves the chip until vpcd closes the
/// connection (pcscd stops) or SIGTERM/SIGINT arrives, then reports the
/// APDUs the chip answered (a second signal ends it at once).
pub(crate) fn emulate(
    json: bool,
    profile: &Path,
    host: &str,
    port: u16,
) -> anyhow::Result<ExitCode> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let chip = kiosk_board::simulator::load_card(profile)?;
    let addr = format!("{host}:{port}")
        .parse()
        .with_context(|| format!("{host}:{port} is not an address"))?;
    if !json {
        println!(
            "connecting the virtual chip of {} to vpcd at {addr}",
            profile.display()
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .context("installing the signal handler")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the signal handler")?;
    }
    let card = kiosk_board::simulator::vpcd::VpcdCard::insert_until(
        addr,
        Box::new(chip),
        Duration::from_secs(30),
        Arc::clone(&stop),
    )
    .with_context(|| {
        format!("vpcd does not listen at {addr}: is pcscd running with vsmartcard-vpcd?")
    })?;
    let apdus = card.wait()?;
    let ended = if stop.load(Ordering::Relaxed) {
        "signal"
    } else {
        "vpcd_closed"
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "ok": true, "apdus": apdus, "ended": ended })
        );
    } else if ended == "signal" {
        println!("stopped by a signal after {apdus} APDUs");
    } else {
        println!("vpcd closed the connection after {apdus} APDUs");
    }
    Ok(ExitCode::SUCCESS)
}
