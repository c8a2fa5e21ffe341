//! The paper width of the board that runs (`[linux.printer]` or
//! `[sim.printer]` `paper_width_mm`) reaches every raster the kiosk draws:
//! the queue ticket, the request receipt and the staff test page, at 58 mm
//! (384 dots) and 80 mm (576 dots), for every shipped board profile.

use crate::config::Config;
use kiosk_firmware::queue::{AgeEvidence, DrawRequest};
use kiosk_firmware::requests::receipt::ReceiptState;
use kiosk_firmware::session::Verification;
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_firmware::ticket::escpos::decode;
use kiosk_firmware::ticket::raster::PaperWidth;
use std::path::{Path, PathBuf};

/// 2026-11-25 09:00 in Vietnam.
const NINE_AM: UnixMillis = UnixMillis(1_795_572_000_000);

fn profile(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

/// A shipped profile with its printer's `paper_width_mm` set to `mm`.
fn with_paper(name: &str, mm: u32) -> Config {
    let path = profile(name);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches("paper_width_mm = 80").count(),
        1,
        "{name}: one printer width"
    );
    let text = text.replace("paper_width_mm = 80", &format!("paper_width_mm = {mm}"));
    Config::parse(&text, &path).unwrap_or_else(|e| panic!("{name} at {mm} mm: {e}"))
}

#[test]
fn every_shipped_board_prints_at_the_width_its_printer_section_gives() {
    for name in ["sim.toml", "rpi4-acr1252u.toml", "rk3568-acr1252u.toml"] {
        for (mm, paper, dots) in [(58, PaperWidth::Mm58, 384), (80, PaperWidth::Mm80, 576)] {
            let config = with_paper(name, mm);
            assert_eq!(config.paper_width(), paper, "{name} at {mm} mm");

            let ticketing = crate::services::ticketing::Ticketing::from_config(&config)
                .unwrap_or_else(|| panic!("{name} has a [queue]"));
            assert_eq!(ticketing.paper, paper, "{name}: the ticket's paper");
            let dir = tempfile::tempdir().unwrap();
            let (mut store, _) = Store::open(&dir.path().join("kiosk.db"), NINE_AM).unwrap();
            let service = ticketing.queue.catalog().services[0].code.clone();
            let drawn = ticketing
                .queue
                .draw(
                    &mut store,
                    &DrawRequest {
                        service: &service,
                        declared: None,
                        age: AgeEvidence::Unknown,
                        verification: Verification::Anonymous,
                    },
                    NINE_AM,
                )
                .unwrap();
            let job = ticketing
                .render(&drawn.ticket, drawn.waiting, false)
                .unwrap();
            assert_eq!(job.width, dots, "{name}: the ticket at {mm} mm");
            assert_eq!(decode(&job.bytes).unwrap().pages[0].width(), dots);

            if let Some(requesting) = crate::services::requesting::Requesting::from_config(&config)
            {
                assert_eq!(requesting.paper, paper, "{name}: the receipt's paper");
                let procedure = requesting.config.catalog.procedures[0].code.clone();
                let job = requesting
                    .render_receipt(&procedure, ReceiptState::Queued, "REF-1", NINE_AM)
                    .unwrap();
                assert_eq!(job.width, dots, "{name}: the receipt at {mm} mm");
            }

            let page = crate::runtime::test_page(paper, "Trung tâm", "KIOSK-1", NINE_AM).unwrap();
            assert_eq!(
                decode(&page).unwrap().pages[0].width(),
                dots,
                "{name}: the test page at {mm} mm"
            );
        }
    }
}
