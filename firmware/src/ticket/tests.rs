//! The canonical ticket, against its golden transcript and picture.
//!
//! Regenerate the golden files (never edit them by hand) with
//! `KIOSK_BLESS=1 cargo test -p kiosk-firmware ticket`; a blessing run
//! still fails, so that the new files are looked at before they are kept.

use super::escpos::{decode, encode_ticket};
use super::raster::{Bitmap, PaperWidth};
use super::*;
use std::path::PathBuf;

fn canonical(priority: bool) -> TicketContent {
    // Priority numbers have their own range, marked U (firmware::queue).
    let number = if priority { "AU012" } else { "A012" };
    TicketContent {
        center_name: "Trung tâm Phục vụ hành chính công tỉnh Mẫu".into(),
        service_vi: "Đăng ký thường trú, tạm trú".into(),
        service_en: "Residence registration".into(),
        number: number.into(),
        priority: priority.then(|| ("Người cao tuổi".into(), "Elderly".into())),
        waiting: 7,
        counters: "1, 2".into(),
        issued_at: LocalTime {
            year: 2026,
            month: 11,
            day: 25,
            hour: 8,
            minute: 5,
        },
        qr: format!("https://dichvucong.example.gov.vn/hang-doi/KIOSK-SIM-001/20261125/{number}"),
        reference: format!("KIOSK-SIM-001 · 20261125 · {number}"),
        reprint: false,
        offline: false,
    }
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn blessing() -> bool {
    std::env::var_os("KIOSK_BLESS").is_some()
}

fn to_png(bitmap: &Bitmap) -> Vec<u8> {
    let img = image::GrayImage::from_fn(bitmap.width(), bitmap.height(), |x, y| {
        image::Luma([if bitmap.get(x, y) { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn from_png(bytes: &[u8]) -> image::GrayImage {
    image::load_from_memory(bytes).unwrap().to_luma8()
}

#[test]
fn the_canonical_ticket_matches_its_golden_transcript_and_picture() {
    let bitmap = render(&canonical(true), PaperWidth::Mm80).unwrap();
    let bytes = encode_ticket(&bitmap);
    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded.pages.len(), 1);
    let page = &decoded.pages[0];
    let transcript = decoded.transcript();
    let png = to_png(page);

    let transcript_path = golden("ticket-80mm.transcript");
    let png_path = golden("ticket-80mm.png");
    if blessing() {
        std::fs::create_dir_all(transcript_path.parent().unwrap()).unwrap();
        std::fs::write(&transcript_path, &transcript).unwrap();
        std::fs::write(&png_path, &png).unwrap();
        panic!("golden files regenerated: look at them, then re-run without KIOSK_BLESS");
    }
    let want = std::fs::read_to_string(&transcript_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (bless with KIOSK_BLESS=1)",
            transcript_path.display()
        )
    });
    assert_eq!(transcript, want, "the ESC/POS transcript changed");

    let want = from_png(&std::fs::read(&png_path).unwrap());
    let got = from_png(&png);
    assert_eq!(
        got.dimensions(),
        want.dimensions(),
        "the ticket changed size"
    );
    let differing = got
        .pixels()
        .zip(want.pixels())
        .filter(|(a, b)| a != b)
        .count();
    let total = (got.width() * got.height()) as usize;
    // Tolerance for rasteriser updates: 0.2 % of the dots may differ.
    assert!(
        differing * 500 <= total,
        "{differing} of {total} dots differ from the golden picture"
    );
}

#[test]
fn a_ticket_fits_the_paper_and_is_short_enough() {
    for paper in [PaperWidth::Mm80, PaperWidth::Mm58] {
        for priority in [false, true] {
            let b = render(&canonical(priority), paper).unwrap();
            assert_eq!(b.width(), paper.dots());
            // A ticket of less than about 13 cm (8 dots/mm).
            assert!(
                b.height() < 1050,
                "{paper:?} {priority}: {} dots",
                b.height()
            );
        }
    }
}

#[test]
fn the_priority_band_makes_the_ticket_longer_and_darker() {
    let plain = render(&canonical(false), PaperWidth::Mm80).unwrap();
    let priority = render(&canonical(true), PaperWidth::Mm80).unwrap();
    assert!(priority.height() > plain.height());
    assert!(priority.black_dots() > plain.black_dots() + 5_000);
}

#[test]
fn long_names_wrap_instead_of_running_off_the_paper() {
    let mut content = canonical(false);
    content.center_name =
        "Trung tâm Phục vụ hành chính công và Bộ phận Một cửa liên thông cấp xã phường Mẫu".into();
    let short = render(&canonical(false), PaperWidth::Mm58).unwrap();
    let long = render(&content, PaperWidth::Mm58).unwrap();
    assert!(long.height() > short.height());
    // Nothing is drawn in the side margins.
    for y in 0..long.height() {
        assert!(
            !long.get(0, y) && !long.get(long.width() - 1, y),
            "ink in the margin at row {y}"
        );
    }
}

#[test]
fn a_reprint_says_so_on_the_paper() {
    let first = render(&canonical(false), PaperWidth::Mm80).unwrap();
    let again = render(
        &TicketContent {
            reprint: true,
            ..canonical(false)
        },
        PaperWidth::Mm80,
    )
    .unwrap();
    assert!(again.height() > first.height());
    assert!(again.black_dots() > first.black_dots() + 3_000);
}

#[test]
fn an_offline_number_says_so_on_the_paper() {
    let online = render(&canonical(false), PaperWidth::Mm80).unwrap();
    let offline = render(
        &TicketContent {
            offline: true,
            ..canonical(false)
        },
        PaperWidth::Mm80,
    )
    .unwrap();
    // An inverse banner replaces the waiting count.
    assert!(offline.height() > online.height());
    assert!(offline.black_dots() > online.black_dots() + 3_000);
}

#[test]
fn local_time_in_vietnam_is_utc_plus_seven() {
    // 2026-11-24 17:00 UTC is midnight on the 25th in Hà Nội.
    let midnight = 1_795_539_600_000u64;
    let t = LocalTime::in_vietnam(midnight).unwrap();
    assert_eq!(
        (t.year, t.month, t.day, t.hour, t.minute),
        (2026, 11, 25, 0, 0)
    );
    assert_eq!(t.day_key(), "20261125");
    let before = LocalTime::in_vietnam(midnight - 60_000).unwrap();
    assert_eq!(before.day_key(), "20261124");
    assert_eq!(before.minute_of_day(), 23 * 60 + 59);
    assert_eq!(before.to_string(), "23:59 24/11/2026");
}
