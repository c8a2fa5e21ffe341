//! The attempt machine with synthetic observations and virtual time.

use super::*;
use crate::face::analysis::FaceObservation;
use crate::face::pose::Pose;
use crate::face::{Detection, Rect};

const T0: Timestamp = Timestamp::from_secs(100);

fn quality(yaw: f32) -> Quality {
    Quality {
        eye_distance_px: 60.0,
        face_fraction: 0.3,
        detector_score: 0.9,
        sharpness: 120.0,
        brightness: 120.0,
        contrast: 40.0,
        pose: Pose {
            yaw,
            pitch: 0.5,
            roll_degrees: 0.0,
        },
    }
}

fn frame(yaw: f32, similarity: f32, liveness: Option<f32>) -> Observation {
    Observation {
        frame_width: 640,
        frame_height: 480,
        people: 1,
        face: Some(FaceObservation {
            detection: Detection {
                bbox: Rect {
                    x: 240.0 + yaw * 20.0,
                    y: 120.0,
                    width: 160.0,
                    height: 200.0,
                },
                ..Detection::default()
            },
            quality: quality(yaw),
            issue: None,
            similarity: Some(similarity),
            liveness,
        }),
    }
}

fn empty_frame() -> Observation {
    Observation {
        frame_width: 640,
        frame_height: 480,
        people: 0,
        face: None,
    }
}

fn passive_only() -> CheckConfig {
    CheckConfig {
        liveness: LivenessPolicy {
            active: false,
            ..LivenessPolicy::default()
        },
        ..CheckConfig::default()
    }
}

/// Feeds frames 100 ms apart; returns the decision if one came.
fn feed(check: &mut FaceCheck, frames: &[Observation]) -> (Vec<Hint>, Option<Decision>) {
    let mut hints = Vec::new();
    let mut decision = None;
    for (i, f) in frames.iter().enumerate() {
        check.handle_observation(f, T0 + Duration::from_millis(100 * (i as u64 + 1)));
        while let Some(out) = check.poll_output() {
            match out {
                CheckOutput::Guidance(g) => hints.push(g.hint),
                CheckOutput::Done(d) => decision = Some(d),
            }
        }
    }
    (hints, decision)
}

fn turn_sequence(sim: f32) -> Vec<Observation> {
    let mut frames: Vec<Observation> = (0..3).map(|_| frame(0.0, sim, None)).collect();
    frames.extend([0.15, 0.25, 0.3, 0.28, 0.12].map(|y| frame(y, sim - 0.2, None)));
    frames.extend((0..3).map(|_| frame(0.02, sim, None)));
    frames
}

#[test]
fn a_matching_face_that_turns_as_asked_is_a_match() {
    let mut check = FaceCheck::new(CheckConfig::default(), TurnDirection::Left, T0);
    let (hints, decision) = feed(&mut check, &turn_sequence(0.7));
    let d = decision.expect("decided");
    assert_eq!(d.outcome, Outcome::Match);
    assert!(hints.contains(&Hint::Turn(TurnDirection::Left)));
    assert!(d.challenge.unwrap().passed);
    assert!((d.score.unwrap() - 0.7).abs() < 1e-6);
    assert_eq!(d.frames_scored, 6, "turned frames are not scored");
    assert!(check.is_done() && check.poll_timeout().is_none());
}

#[test]
fn a_still_photo_never_completes_the_challenge() {
    let mut check = FaceCheck::new(CheckConfig::default(), TurnDirection::Right, T0);
    let still: Vec<Observation> = (0..40).map(|_| frame(0.01, 0.8, None)).collect();
    let (hints, decision) = feed(&mut check, &still);
    assert!(decision.is_none(), "waits for the turn");
    assert!(
        hints
            .iter()
            .skip(2)
            .all(|h| *h == Hint::Turn(TurnDirection::Right))
    );
    check.handle_timeout(T0 + Duration::from_secs(19));
    assert!(check.poll_output().is_none());
    check.handle_timeout(T0 + Duration::from_secs(20));
    let Some(CheckOutput::Done(d)) = check.poll_output() else {
        panic!("decided at the deadline")
    };
    assert_eq!(d.outcome, Outcome::LivenessFailed);
    assert!(!d.challenge.unwrap().passed);
}

#[test]
fn another_persons_face_ends_the_attempt_early_as_no_match() {
    let mut check = FaceCheck::new(CheckConfig::default(), TurnDirection::Left, T0);
    let frames: Vec<Observation> = (0..5).map(|_| frame(0.0, 0.1, None)).collect();
    let (_, decision) = feed(&mut check, &frames);
    let d = decision.expect("no need to wait for the turn");
    assert_eq!(d.outcome, Outcome::NoMatch);
    assert_eq!(d.frames_scored, 5);
}

#[test]
fn the_score_is_the_median_of_the_best_three() {
    let mut check = FaceCheck::new(passive_only(), TurnDirection::Left, T0);
    let frames: Vec<Observation> = [0.2, 0.9, 0.5, 0.6, 0.3]
        .map(|s| frame(0.0, s, Some(0.9)))
        .to_vec();
    let (_, decision) = feed(&mut check, &frames);
    let d = decision.unwrap();
    assert!((d.score.unwrap() - 0.6).abs() < 1e-6);
    assert_eq!(d.outcome, Outcome::Match);
    assert_eq!(d.passive.unwrap().frames, 5);
}

#[test]
fn a_low_passive_score_fails_liveness() {
    let mut check = FaceCheck::new(passive_only(), TurnDirection::Left, T0);
    let frames: Vec<Observation> = (0..5).map(|_| frame(0.0, 0.8, Some(0.2))).collect();
    let (_, decision) = feed(&mut check, &frames);
    let d = decision.unwrap();
    assert_eq!(d.outcome, Outcome::LivenessFailed);
    assert!((d.passive.unwrap().median - 0.2).abs() < 1e-6);
}

#[test]
fn both_liveness_checks_must_pass_when_both_run() {
    let mut check = FaceCheck::new(CheckConfig::default(), TurnDirection::Left, T0);
    let frames: Vec<Observation> = turn_sequence(0.7)
        .into_iter()
        .map(|mut f| {
            if let Some(face) = &mut f.face {
                face.liveness = Some(0.1);
            }
            f
        })
        .collect();
    let (_, decision) = feed(&mut check, &frames);
    assert_eq!(decision.unwrap().outcome, Outcome::LivenessFailed);
}

#[test]
fn without_a_challenge_or_passive_models_there_is_no_liveness() {
    let mut check = FaceCheck::new(passive_only(), TurnDirection::Left, T0);
    let frames: Vec<Observation> = (0..5).map(|_| frame(0.0, 0.8, None)).collect();
    let (_, decision) = feed(&mut check, &frames);
    assert_eq!(decision.unwrap().outcome, Outcome::LivenessFailed);
}

#[test]
fn an_empty_scene_until_the_deadline_is_no_face() {
    let mut check = FaceCheck::new(CheckConfig::default(), TurnDirection::Left, T0);
    let (hints, decision) = feed(&mut check, &vec![empty_frame(); 10]);
    assert!(decision.is_none());
    assert!(hints.iter().all(|h| *h == Hint::LookAtCamera));
    assert_eq!(check.poll_timeout(), Some(T0 + Duration::from_secs(20)));
    // A frame that arrives after the deadline ends the attempt too.
    check.handle_observation(&empty_frame(), T0 + Duration::from_secs(21));
    let Some(CheckOutput::Done(d)) = check.poll_output() else {
        panic!("decided")
    };
    assert_eq!(d.outcome, Outcome::NoFace);
    assert_eq!(d.elapsed_ms, 21_000);
    assert_eq!(d.score, None);
}

#[test]
fn quality_problems_become_guidance_and_are_not_scored() {
    let mut check = FaceCheck::new(passive_only(), TurnDirection::Left, T0);
    let mut far = frame(0.0, 0.9, Some(0.9));
    if let Some(f) = &mut far.face {
        f.issue = Some(QualityIssue::TooFar);
    }
    let mut two = frame(0.0, 0.9, Some(0.9));
    two.people = 2;
    let turned = frame(0.4, 0.9, Some(0.9));
    let (hints, decision) = feed(&mut check, &[far, two, turned]);
    assert!(decision.is_none());
    assert_eq!(
        &hints[1..],
        &[Hint::MoveCloser, Hint::OnlyOnePerson, Hint::LookStraight]
    );
}

#[test]
fn guidance_carries_the_face_box_in_frame_fractions() {
    let mut check = FaceCheck::new(CheckConfig::default(), TurnDirection::Left, T0);
    check.handle_observation(&frame(0.0, 0.8, None), T0 + Duration::from_millis(10));
    let _first = check.poll_output();
    let Some(CheckOutput::Guidance(g)) = check.poll_output() else {
        panic!("guidance")
    };
    let b = g.face_box.unwrap();
    assert!((b.x - 0.375).abs() < 1e-6 && (b.width - 0.25).abs() < 1e-6);
    assert!(g.progress > 0.0 && g.progress < 1.0);
}
