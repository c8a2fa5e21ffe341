//! `kioskctl bench card`: reading speed of the kiosk's strategy against a
//! JMRTD-style one, for a CCCD-like card with a photo of a chosen size.

use anyhow::Context as _;
#[cfg(feature = "pcsc")]
use kiosk_board::devices::{Erased, ReaderDevice};
use kiosk_board::reading::read_document;
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
    let chip = kiosk_board::sim::load_card(profile)?;
    let (result, stats, elapsed) = if let Some(name) = reader_spec.strip_prefix("pcsc:") {
        pcsc_read(name, vpcd_port, chip, keys, options)?
    } else {
        let mut reader = super::card::sim_reader(chip)?;
        #[expect(clippy::disallowed_methods, reason = "a benchmark timing a read")]
        let start = Instant::now();
        let (result, stats) =
            read_document(reader.as_mut(), keys, [7; 32], options.clone(), |_, _| {});
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
    kiosk_board::reading::ReadStats,
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
    let card = kiosk_board::vpcd::VpcdCard::insert(addr, Box::new(chip), Duration::from_secs(10))
        .context("vpcd does not listen: is pcscd running with vsmartcard-vpcd?")?;
    let mut reader: Box<dyn ReaderDevice> = Box::new(Erased::new(
        "card_reader",
        kiosk_board::pcsc::PcscReader::open(name, true)?,
    ));
    wait_presence(reader.as_mut(), Presence::Present)?;
    #[expect(clippy::disallowed_methods, reason = "a benchmark timing a read")]
    let start = Instant::now();
    let (result, stats) = read_document(reader.as_mut(), keys, [7; 32], options.clone(), |_, _| {});
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
