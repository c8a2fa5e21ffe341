//! `kioskctl bench card`: reading speed of the kiosk's strategy against a
//! JMRTD-style one, for a CCCD-like card with a photo of a chosen size;
//! `bench ticket`, `bench outbox`, and `bench qr`: the camera's card-QR
//! decode time per 640×480 frame.

use anyhow::Context as _;
#[cfg(feature = "pcsc")]
use kiosk_board::drivers::{Erased, ReaderDevice};
use kiosk_board::services::reading::read_document;
use kiosk_firmware::cccd::{self, qr::CardQr};
use kiosk_firmware::icao::reader::ReadOptions;
#[cfg(feature = "pcsc")]
use kiosk_hal::card::Presence;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const QR: &str = "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1|01062021";

/// A JPEG of about `kb` kilobytes (a 480×640 gradient with texture).
fn photo(kb: usize) -> anyhow::Result<Vec<u8>> {
    let img = image::RgbImage::from_fn(480, 640, |x, y| {
        let n = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 37;
        image::Rgb([
            u8::try_from((x / 2 + n) % 256).unwrap_or(0),
            u8::try_from((y / 3 + n) % 256).unwrap_or(0),
            u8::try_from((x + y) / 5 % 256).unwrap_or(0),
        ])
    });
    // The lowest quality that reaches the size.
    let mut out = Vec::new();
    for quality in (5..=95).step_by(2) {
        out.clear();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img)?;
        if out.len() >= kb * 1024 {
            break;
        }
    }
    Ok(out)
}

fn profile(dir: &Path, kb: usize) -> anyhow::Result<std::path::PathBuf> {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/cards/cccd-2021.toml");
    let text = std::fs::read_to_string(&shipped)?
        .replace("photo = \"placeholder\"", "photo = \"photo.jpg\"");
    std::fs::write(dir.join("photo.jpg"), photo(kb)?)?;
    let path = dir.join("bench.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

struct Run {
    apdus: u32,
    bytes: usize,
    elapsed: Duration,
}

#[cfg(feature = "pcsc")]
fn wait_presence(reader: &mut dyn ReaderDevice, want: Presence) -> anyhow::Result<()> {
    for _ in 0..200 {
        if reader.presence().ok() == Some(want) {
            return Ok(());
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "a benchmark waiting for pcscd's polling"
        )]
        std::thread::sleep(Duration::from_millis(10));
    }
    anyhow::bail!("the reader never reported {want:?}")
}

fn one_read(
    reader_spec: &str,
    vpcd_port: u16,
    profile: &Path,
    options: &ReadOptions,
) -> anyhow::Result<Run> {
    let keys = cccd::keys_from_qr(&CardQr::parse(QR)?);
    let chip = kiosk_board::simulator::load_card(profile)?;
    let (result, stats, elapsed) = if let Some(name) = reader_spec.strip_prefix("pcsc:") {
        pcsc_read(name, vpcd_port, chip, keys, options)?
    } else {
        let mut reader = super::card::sim_reader(chip)?;
        #[expect(clippy::disallowed_methods, reason = "a benchmark timing a read")]
        let start = Instant::now();
        let (result, stats) = read_document(
            reader.as_mut(),
            keys,
            [7; 32],
            options.clone(),
            |_, _| {},
            || start.elapsed(),
            kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
        );
        (result, stats, start.elapsed())
    };
    result.context("the benchmark read failed")?;
    Ok(Run {
        apdus: stats.apdus,
        bytes: stats.bytes,
        elapsed,
    })
}

/// A read's result, counts and time.
type Timed = (
    Result<kiosk_firmware::icao::reader::Document, kiosk_firmware::icao::reader::ReadError>,
    kiosk_board::services::reading::ReadStats,
    Duration,
);

/// One read through pcscd, the chip in vpcd.
#[cfg(feature = "pcsc")]
fn pcsc_read(
    name: &str,
    vpcd_port: u16,
    chip: kiosk_firmware::testkit::chip::VirtualChip,
    keys: Vec<kiosk_firmware::cccd::KeyCandidate>,
    options: &ReadOptions,
) -> anyhow::Result<Timed> {
    let addr = format!("127.0.0.1:{vpcd_port}").parse()?;
    let card = kiosk_board::simulator::vpcd::VpcdCard::insert(
        addr,
        Box::new(chip),
        Duration::from_secs(10),
    )
    .context("vpcd does not listen: is pcscd running with vsmartcard-vpcd?")?;
    let mut reader: Box<dyn ReaderDevice> = Box::new(Erased::new(
        "card_reader",
        kiosk_board::drivers::pcsc::PcscReader::open(name, true)?,
    ));
    wait_presence(reader.as_mut(), Presence::Present)?;
    #[expect(clippy::disallowed_methods, reason = "a benchmark timing a read")]
    let start = Instant::now();
    let (result, stats) = read_document(
        reader.as_mut(),
        keys,
        [7; 32],
        options.clone(),
        |_, _| {},
        || start.elapsed(),
        kiosk_board::services::reading::DEFAULT_READ_DEADLINE,
    );
    let elapsed = start.elapsed();
    card.remove()?;
    wait_presence(reader.as_mut(), Presence::Absent)?;
    Ok((result, stats, elapsed))
}

#[cfg(not(feature = "pcsc"))]
fn pcsc_read(
    _name: &str,
    _vpcd_port: u16,
    _chip: kiosk_firmware::testkit::chip::VirtualChip,
    _keys: Vec<kiosk_firmware::cccd::KeyCandidate>,
    _options: &ReadOptions,
) -> anyhow::Result<Timed> {
    anyhow::bail!("this kioskctl was built without PC/SC support (feature `pcsc`)")
}

/// `kioskctl bench card`.
pub(crate) fn card(
    json: bool,
    reader: &str,
    vpcd_port: u16,
    runs: usize,
    photo_kb: usize,
) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let profile = profile(dir.path(), photo_kb)?;
    let photo_bytes = std::fs::metadata(dir.path().join("photo.jpg"))?.len();
    let strategies = [
        (
            "kiosk: SFI reads, extended length",
            ReadOptions {
                extended_length: true,
                ..ReadOptions::default()
            },
        ),
        (
            "kiosk: SFI reads, short APDUs (0xDF)",
            ReadOptions::default(),
        ),
        (
            "JMRTD-style: SELECT, 8-byte header, 0xDF blocks",
            ReadOptions {
                jmrtd_style: true,
                ..ReadOptions::default()
            },
        ),
    ];
    let mut rows = Vec::new();
    for (name, options) in &strategies {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..runs.max(1) {
            let run = one_read(reader, vpcd_port, &profile, options)?;
            times.push(run.elapsed);
            last = Some(run);
        }
        times.sort();
        let run = last.context("no run")?;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        rows.push(serde_json::json!({
            "strategy": name,
            "apdus": run.apdus,
            "bytes": run.bytes,
            "median_ms": ms(times[times.len() / 2]),
            "min_ms": ms(times[0]),
            "max_ms": ms(times[times.len() - 1]),
        }));
    }
    let report = serde_json::json!({
        "reader": reader,
        "runs": runs,
        "photo_bytes": photo_bytes,
        "strategies": rows,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("card read benchmark: {reader}, photo {photo_bytes} bytes, {runs} runs each");
        for r in report["strategies"].as_array().into_iter().flatten() {
            println!(
                "  {:<50} {:>4} APDUs {:>6} bytes  median {:>8.1} ms",
                r["strategy"].as_str().unwrap_or(""),
                r["apdus"],
                r["bytes"],
                r["median_ms"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A network printer on 127.0.0.1 for the benchmark: takes the bytes as a
/// TCP 9100 printer does and answers every `DLE EOT` with "ready". The
/// stream is parsed (raster data may contain `10 04`), and forgotten once
/// complete, so the printer side stays cheap.
struct Loopback {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Loopback {
    fn start() -> anyhow::Result<Loopback> {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let ready = kiosk_firmware::ticket::escpos::status_bytes(
                &kiosk_hal::printer::PrinterStatus::READY,
            );
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let mut buffer = Vec::new();
                let mut chunk = vec![0u8; 64 * 1024];
                loop {
                    let n = match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    buffer.extend_from_slice(&chunk[..n]);
                    let Ok(decoded) = kiosk_firmware::ticket::escpos::decode(&buffer) else {
                        continue;
                    };
                    for command in decoded.commands {
                        if let kiosk_firmware::ticket::escpos::Command::StatusQuery(q) = command {
                            let byte = match q {
                                1 => ready[0],
                                2 => ready[1],
                                _ => ready[2],
                            };
                            if stream.write_all(&[byte]).is_err() {
                                break;
                            }
                        }
                    }
                    buffer.clear();
                }
            }
        });
        Ok(Loopback {
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Wake the accept so the thread sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn stats(mut v: Vec<f64>) -> serde_json::Value {
    v.sort_by(f64::total_cmp);
    let n = v.len().max(1);
    let pick = |q: f64| {
        let i = ((n as f64 - 1.0) * q).round() as usize;
        (v.get(i).copied().unwrap_or(0.0) * 1000.0).round() / 1000.0
    };
    serde_json::json!({ "min": pick(0.0), "median": pick(0.5), "p95": pick(0.95), "max": pick(1.0) })
}

/// `kioskctl bench ticket`.
pub(crate) fn ticket(
    json: bool,
    config: &kiosk_board::config::Config,
    runs: usize,
    printer: Option<&str>,
    service: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use kiosk_board::services::ticketing::Phase;
    use kiosk_firmware::queue::{AgeEvidence, DrawRequest};
    use kiosk_firmware::session::{Priority, Verification};
    let ticketing = super::ticket::ticketing(config)?;
    let catalog = ticketing.queue.catalog();
    let service = match service {
        Some(s) => catalog
            .service(s)
            .with_context(|| format!("--service {s:?} is not in the catalogue"))?,
        None => catalog
            .services
            .iter()
            .max_by_key(|s| s.daily_limit)
            .context("the catalogue is empty")?,
    };
    // Normal and priority tickets alternate; each lane has 999 numbers.
    let runs = runs
        .clamp(1, usize::try_from(service.daily_limit).unwrap_or(1))
        .min(999);
    // A fixed working-day morning: the benchmark is about printing, not hours.
    let now = super::ticket::parse_local("2026-11-25T09:00")?;
    let loopback;
    let targets: Vec<(String, Option<String>)> = match printer {
        Some(p) => vec![(p.to_owned(), Some(p.to_owned()))],
        None => {
            loopback = Loopback::start()?;
            vec![
                ("sim (in memory)".to_owned(), None),
                (
                    format!("loopback tcp:{}", loopback.addr),
                    Some(format!("tcp:{}", loopback.addr)),
                ),
            ]
        }
    };
    let mut rows = Vec::new();
    for (name, spec) in &targets {
        let dir = tempfile::tempdir()?;
        let (mut store, _) = kiosk_firmware::store::Store::open(&dir.path().join("bench.db"), now)?;
        let mut device: Box<dyn kiosk_board::drivers::PrinterDevice> = match spec {
            Some(spec) => super::ticket::open_printer(Some(spec), config)?.1,
            None => {
                let sim = config
                    .sim
                    .clone()
                    .context("the sim printer needs a [sim] board")?;
                let mut sim = sim;
                sim.printer.output_dir = None;
                kiosk_board::simulator::SimBoard::build(&sim)?.0.printer
            }
        };
        let (mut to_last_byte, mut draw, mut encode, mut confirm) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut sizes, mut bytes, mut raster) = (Vec::new(), Vec::new(), Vec::new());
        let mut failures = 0usize;
        for i in 0..runs {
            let request = DrawRequest {
                service: &service.code,
                declared: (i % 2 == 1).then_some(Priority::Pregnant),
                age: AgeEvidence::Unknown,
                verification: Verification::Anonymous,
            };
            let mut watch = super::ticket::Stopwatch::start();
            let issued = ticketing.issue(&mut store, device.as_mut(), &request, now, &mut |p| {
                watch.mark(p)
            })?;
            if issued.print.outcome.is_err() {
                failures += 1;
                continue;
            }
            let at = |p| watch.at(p).unwrap_or(0.0);
            draw.push(at(Phase::Drawn));
            encode.push(at(Phase::Encoded) - at(Phase::Drawn));
            to_last_byte.push(at(Phase::Sent));
            confirm.push(at(Phase::StatusAfter) - at(Phase::Sent));
            sizes.push((issued.job.width, issued.job.height));
            bytes.push(issued.job.bytes.len());
            raster.push(issued.job.raster_bytes);
        }
        let (min_h, max_h) = (
            sizes.iter().map(|s| s.1).min().unwrap_or(0),
            sizes.iter().map(|s| s.1).max().unwrap_or(0),
        );
        rows.push(serde_json::json!({
            "printer": name,
            "runs": runs,
            "failed": failures,
            "take_a_number_to_last_byte_ms": stats(to_last_byte),
            "draw_ms": stats(draw),
            "layout_and_encode_ms": stats(encode),
            "status_after_ms": stats(confirm),
            "raster": {
                "width": sizes.first().map_or(0, |s| s.0),
                "height_min": min_h,
                "height_max": max_h,
                "bytes_min": raster.iter().min(),
                "bytes_max": raster.iter().max(),
            },
            "job_bytes_max": bytes.iter().max(),
        }));
    }
    let report = serde_json::json!({
        "service": service.code,
        "paper_dots": ticketing.paper.dots(),
        "printers": rows,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "ticket benchmark: service {}, {} dots paper, normal and priority tickets alternating",
            service.code,
            ticketing.paper.dots()
        );
        for r in report["printers"].as_array().into_iter().flatten() {
            let t = &r["take_a_number_to_last_byte_ms"];
            println!(
                "  {:<32} {} runs  take a number → last byte: median {} ms, p95 {} ms (draw {} ms, layout+encode {} ms)  raster {}×{}–{} = {}–{} bytes",
                r["printer"].as_str().unwrap_or(""),
                r["runs"],
                t["median"],
                t["p95"],
                r["draw_ms"]["median"],
                r["layout_and_encode_ms"]["median"],
                r["raster"]["width"],
                r["raster"]["height_min"],
                r["raster"]["height_max"],
                r["raster"]["bytes_min"],
                r["raster"]["bytes_max"],
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A value that passes the field's validation, for the benchmark.
fn sample_value(f: &kiosk_firmware::requests::catalog::FieldConfig) -> String {
    use kiosk_firmware::requests::FieldType;
    match f.kind {
        FieldType::Text => "Số 5 Ngõ Mẫu, Phường Mẫu, Hà Nội".into(),
        FieldType::Date => "01/12/2026".into(),
        FieldType::Phone => "0912345678".into(),
        FieldType::IdNumber => "003090000002".into(),
        FieldType::OldIdNumber => "012345678".into(),
        FieldType::Choice => f.options.first().cloned().unwrap_or_default(),
        FieldType::Number => f.min.unwrap_or(1).to_string(),
    }
}

/// `kioskctl bench outbox`.
pub(crate) fn outbox(
    json: bool,
    config: &kiosk_board::config::Config,
    runs: usize,
) -> anyhow::Result<ExitCode> {
    use kiosk_board::online::portal::client::{HttpsPortal, PortalSettings};
    use kiosk_board::online::portal::pki::Pki;
    use kiosk_board::online::portal::server::{PortalHandle, ServerSettings};
    use kiosk_board::services::requesting::{Randomness, Requesting};
    use kiosk_firmware::requests::ConsentNotice;
    use kiosk_firmware::session::Verification;
    use kiosk_firmware::store::{Store, UnixMillis};

    let requesting =
        Requesting::from_config(config).context("the configuration has no [requests] section")?;
    let dir = tempfile::tempdir().context("a scratch folder")?;
    let files = Pki::generate(&config.kiosk.id)?.write(&dir.path().join("pki"))?;
    let portal = PortalHandle::start(&ServerSettings {
        cert_file: files.server_cert.clone(),
        key_file: files.server_key.clone(),
        client_ca_file: files.ca.clone(),
        unit_code: "000.00.19.H26".into(),
        procedures: Vec::new(),
        port: 0,
    })?;
    let settings = |url: String| PortalSettings {
        url,
        ca_file: files.ca.clone(),
        client_cert_file: files.client_cert.clone(),
        client_key_file: files.client_key.clone(),
        timeout: Duration::from_secs(5),
    };
    let mut online = HttpsPortal::new(&settings(portal.url()))?;
    // A port nobody listens on: the portal is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut offline = HttpsPortal::new(&settings(format!("https://{closed}")))?;
    let (mut store, _) = Store::open(&dir.path().join("bench.db"), UnixMillis(0))?;
    let mut rng = Randomness::from_os().context("OS entropy")?;
    let procedure = requesting
        .config
        .catalog
        .procedures
        .first()
        .context("an empty catalogue")?
        .clone();
    let mut citizen = kiosk_firmware::cccd::dg13::Citizen::default();
    citizen.id_number = "003090000001".into();
    citizen.full_name = "Nguyễn Văn Mẫu".into();
    citizen.date_of_birth = "15/01/1990".into();
    citizen.sex = "Nam".into();
    citizen.nationality = "Việt Nam".into();
    citizen.ethnicity = "Kinh".into();
    citizen.place_of_origin = "Nam Định".into();
    citizen.place_of_residence = "Số 1 Đường Mẫu, Hà Nội".into();
    citizen.father_name = Some("Nguyễn Văn Cha".into());
    citizen.mother_name = Some("Lê Thị Mẹ".into());
    let mut form = requesting.prefill(&procedure.code, &citizen)?;
    for f in procedure.fields.iter().filter(|f| f.chip.is_none()) {
        form.set(&f.name, &sample_value(f))?;
    }
    let notice = ConsentNotice::for_procedure(&procedure, Verification::FaceMatched);
    let now = kiosk_board::app::wall_clock_now();
    let mut file_ms = Vec::with_capacity(runs);
    #[expect(clippy::disallowed_methods, reason = "a benchmark timing submissions")]
    let all = Instant::now();
    for _ in 0..runs {
        #[expect(clippy::disallowed_methods, reason = "a benchmark timing submissions")]
        let t = Instant::now();
        let filed = requesting.file(
            &mut store,
            &mut online,
            &form,
            &notice,
            now,
            Verification::FaceMatched,
            now,
            &mut rng,
        )?;
        anyhow::ensure!(
            matches!(
                filed.state,
                kiosk_firmware::requests::receipt::ReceiptState::Delivered { .. }
            ),
            "a submission was not delivered: {:?}",
            filed.attempt
        );
        file_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let online_s = all.elapsed().as_secs_f64();
    let mut queue_ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        #[expect(clippy::disallowed_methods, reason = "a benchmark timing submissions")]
        let t = Instant::now();
        requesting.file(
            &mut store,
            &mut offline,
            &form,
            &notice,
            now,
            Verification::FaceMatched,
            now,
            &mut rng,
        )?;
        queue_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    store.outbox_due_now(now)?;
    #[expect(clippy::disallowed_methods, reason = "a benchmark timing the flush")]
    let t = Instant::now();
    let mut delivered = 0usize;
    loop {
        let pass = requesting.flush(&mut store, &mut online, now, &mut rng)?;
        if pass.is_empty() {
            break;
        }
        delivered += pass.iter().filter(|o| o.outcome == "delivered").count();
    }
    let flush_s = t.elapsed().as_secs_f64();
    let snap = portal.snapshot();
    let exactly_once = snap.dossiers_created as usize == 2 * runs && delivered == runs;
    let report = serde_json::json!({
        "ok": exactly_once,
        "runs": runs,
        "online": {
            "submissions_per_second": (runs as f64 / online_s * 10.0).round() / 10.0,
            "ms_per_submission": stats(file_ms),
        },
        "offline_queue": { "ms_per_submission": stats(queue_ms) },
        "flush": {
            "delivered": delivered,
            "submissions_per_second": (delivered as f64 / flush_s.max(1e-9) * 10.0).round() / 10.0,
        },
        "portal": { "submissions": snap.submissions, "dossiers_created": snap.dossiers_created },
    });
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(if exactly_once {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `kioskctl bench qr`: decode time of one 640 × 480 camera frame, for
/// frames that hold a card QR (held in several ways) and frames that hold
/// none (the empty scene, a card QR too blurred to read), as the kiosk's
/// runtime decodes them on the access-key screen.
pub(crate) fn qr(json: bool, runs: usize) -> anyhow::Result<ExitCode> {
    use kiosk_board::simulator::scene::{CardQrScene, card_qr_frame};
    use kiosk_firmware::cccd::scan::decode_frame;
    const CARD: &str =
        "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";
    let held = |size_px: f32, rotation_deg: f32, blur: u8, light: f32| CardQrScene {
        size_px,
        rotation_deg,
        blur,
        light,
        ..CardQrScene::new(CARD)
    };
    let frame = |scene: CardQrScene| card_qr_frame(&scene, 0).map(|f| f.into_frame(0));
    let cases: Vec<(&str, bool, kiosk_hal::camera::Frame)> = vec![
        (
            "hit: upright, 150 px",
            true,
            frame(held(150.0, 0.0, 0, 0.35))?,
        ),
        (
            "hit: turned 15°, soft",
            true,
            frame(held(150.0, 15.0, 1, 0.35))?,
        ),
        ("hit: small, 100 px", true, frame(held(100.0, 0.0, 0, 0.0))?),
        (
            "miss: empty scene",
            false,
            kiosk_board::simulator::pattern(640, 480),
        ),
        (
            "miss: too blurred, 70 px",
            false,
            frame(held(70.0, 4.0, 4, 0.35))?,
        ),
    ];
    let runs = runs.max(1);
    let mut rows = Vec::new();
    for (name, hit, frame) in &cases {
        let mut times = Vec::with_capacity(runs);
        let mut read = 0;
        for _ in 0..runs {
            #[expect(clippy::disallowed_methods, reason = "a benchmark timing a decode")]
            let start = Instant::now();
            let texts = decode_frame(frame)?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            read += usize::from(texts.iter().any(|t| t.as_str() == CARD));
        }
        anyhow::ensure!(
            (read == runs) == *hit,
            "{name}: read in {read} of {runs} runs, expected {}",
            if *hit { "every run" } else { "none" }
        );
        rows.push(serde_json::json!({
            "frame": name,
            "hit": hit,
            "runs": runs,
            "decode_ms": stats(times),
        }));
    }
    let report = serde_json::json!({ "width": 640, "height": 480, "frames": rows });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("QR decode benchmark: 640×480 frames, {runs} runs each");
        for r in report["frames"].as_array().into_iter().flatten() {
            println!(
                "  {:<28} median {:>7} ms  p95 {:>7} ms",
                r["frame"].as_str().unwrap_or(""),
                r["decode_ms"]["median"],
                r["decode_ms"]["p95"],
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
