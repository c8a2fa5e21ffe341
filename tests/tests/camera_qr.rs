//! The card QR read by the kiosk's camera: the decoder on frames rendered
//! the way a citizen holds a card (upright, turned, small, blurred, noisy),
//! and whole journeys on the simulator board whose camera plays them.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of these tests: a failed step fails the test"
)]

use kiosk_board::simulator::scene::{CardQrScene, card_qr_frame, card_qr_frames};
use kiosk_firmware::cccd::scan::{CardQrScanner, ScanPolicy, decode_frame};
use kiosk_firmware::session::{QrCamera, StepKind, Verification};
use kiosk_tests::SimKiosk;
use std::time::Duration;

const QR_2021: &str =
    "003090000001||Nguyễn Văn Mẫu|15011990|Nam|Số 1 Đường Mẫu, Phường Mẫu, Hà Nội|01062021";

fn held(text: &str, size_px: f32, rotation_deg: f32, blur: u8, noise: u8) -> CardQrScene {
    CardQrScene {
        size_px,
        rotation_deg,
        blur,
        noise,
        ..CardQrScene::new(text)
    }
}

/// The texts the decoder reads in one frame of `scene`.
fn read(scene: &CardQrScene, seed: u64) -> Vec<String> {
    let frame = card_qr_frame(scene, seed).unwrap().into_frame(0);
    decode_frame(&frame)
        .unwrap()
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect()
}

#[test]
fn an_upright_card_qr_is_read() {
    assert_eq!(read(&held(QR_2021, 150.0, 0.0, 0, 8), 0), [QR_2021]);
    assert_eq!(read(&held(QR_2021, 150.0, 0.0, 0, 8), 3), [QR_2021]);
}

#[test]
fn a_card_turned_15_degrees_is_read() {
    assert_eq!(read(&held(QR_2021, 150.0, 15.0, 1, 8), 0), [QR_2021]);
    assert_eq!(read(&held(QR_2021, 150.0, 15.0, 1, 8), 3), [QR_2021]);
}

#[test]
fn a_card_held_far_away_with_a_small_qr_is_read() {
    let scene = CardQrScene {
        light: 0.0,
        ..held(QR_2021, 100.0, 0.0, 0, 8)
    };
    assert_eq!(read(&scene, 0), [QR_2021]);
    assert_eq!(read(&scene, 3), [QR_2021]);
}

#[test]
fn a_blurred_card_qr_is_read() {
    assert_eq!(read(&held(QR_2021, 150.0, 15.0, 3, 8), 0), [QR_2021]);
}

#[test]
fn a_noisy_unevenly_lit_card_qr_is_read() {
    let scene = CardQrScene {
        light: 0.6,
        ..held(QR_2021, 150.0, 0.0, 1, 30)
    };
    assert_eq!(read(&scene, 0), [QR_2021]);
    assert_eq!(read(&scene, 3), [QR_2021]);
}

#[test]
fn a_frame_without_a_readable_qr_yields_nothing() {
    let empty = kiosk_board::simulator::pattern(640, 480);
    assert!(decode_frame(&empty).unwrap().is_empty());
    assert!(
        read(&held(QR_2021, 70.0, 4.0, 4, 8), 7).is_empty(),
        "far too soft"
    );
}

#[test]
fn a_qr_that_is_not_a_card_qr_is_read_but_ignored() {
    let other = "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?ma=000.00.19.H26";
    let texts = decode_frame(
        &card_qr_frame(&CardQrScene::new(other), 8)
            .unwrap()
            .into_frame(0),
    )
    .unwrap();
    assert_eq!(texts.len(), 1);
    let mut scanner = CardQrScanner::new(ScanPolicy::default());
    assert!(scanner.observe(&texts).is_none());
    assert!(scanner.observe(&texts).is_none());
    assert_eq!(scanner.stats().ignored, 2);
    assert!(!scanner.holds_personal_data());
}

/// A kiosk whose camera plays the card QR of `text`, with the card of
/// `profile` on the reader; runs until the key screen is over.
fn show_qr(profile: &str, text: &str) -> SimKiosk {
    let mut k = SimKiosk::new();
    k.sim
        .set_frames(card_qr_frames(&CardQrScene::new(text), 4).unwrap());
    k.sim.insert_card(Box::new(kiosk_tests::card(profile)));
    k.run_for(Duration::from_secs(3));
    assert!(k.runtime.qr_stats().card_reads >= 2, "read by the camera");
    k
}

#[test]
fn the_2021_card_qr_held_up_to_the_camera_opens_the_card() {
    let k = show_qr("cccd-2021", kiosk_tests::card_qr("cccd-2021"));
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    assert_eq!(
        k.runtime.view().holder_name.as_deref(),
        Some("Nguyễn Văn Mẫu")
    );
    assert!(!k.sim.camera_on(), "the camera is off once the key is read");
}

#[test]
fn the_2024_card_qr_from_the_back_read_by_the_camera_opens_the_card() {
    let qr = kiosk_tests::card_qr("child-under-6");
    assert!(qr.split('|').count() >= 10, "a 2024 card's QR");
    let mut k = show_qr("child-under-6", qr);
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    k.runtime
        .input(kiosk_firmware::session::Input::Confirm(true), k.now);
    // No photo: staff confirm the guardian (with the staff PIN).
    k.staff_approve();
    assert_eq!(k.step(), StepKind::Menu);
    assert_eq!(k.runtime.view().verification, Some(Verification::Guardian));
}

#[test]
fn a_card_qr_that_does_not_open_the_chip_is_not_tried_again_while_it_stays_in_view() {
    // Another citizen's QR in front of this card: the key is wrong.
    let k = show_qr(
        "cccd-2021",
        &kiosk_tests::card_qr("cccd-2021").replace("003090000001", "003090000009"),
    );
    assert_eq!(k.step(), StepKind::ExpectAccessKey);
    assert!(k.runtime.view().access_key_rejected);
    assert_eq!(k.runtime.view().qr_camera, Some(QrCamera::Watching));
    assert_eq!(k.runtime.qr_stats().accepted, 1, "tried once");
    assert!(k.runtime.qr_stats().card_reads >= 5);
}
