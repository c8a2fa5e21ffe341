//! From pixels to facts: the chip photo becomes a [`Reference`], each camera
//! frame an [`Observation`], with any [`FaceEngine`].
//!
//! Nothing here keeps an image: the decoded photo and every crop are
//! dropped (and zeroized) before the functions return; only the reference
//! embedding survives, inside the [`Reference`], until the session ends.

use super::pose::Pose;
use super::quality::{self, Quality, QualityGates, QualityIssue};
use super::{Detection, Embedding, FaceEngine, FaceError, ImageView};
use crate::icao::lds::FaceImage;
use serde::Serialize;

/// The holder's face as the chip shows it.
#[derive(Debug)]
pub struct Reference {
    embedding: Embedding,
    /// Facts about the chip photo, for the decision log.
    pub photo: PhotoFacts,
}

/// Facts about the chip photo (no pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PhotoFacts {
    /// Decoded width.
    pub width: u32,
    /// Decoded height.
    pub height: u32,
    /// Eye distance in photo pixels.
    pub eye_distance_px: f32,
    /// Detector confidence on the photo.
    pub detector_score: f32,
}

/// Why the chip photo cannot serve as a reference.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The engine failed (undecodable photo, model failure).
    #[error(transparent)]
    Engine(#[from] FaceError),
    /// No face was found in the chip photo: staff must compare by eye.
    #[error("no face found in the chip photo")]
    NoFace,
}

impl Reference {
    /// Decodes the chip photo and computes its embedding. The photo is
    /// framed first with its own edge colour: chip photos are cropped
    /// tight, and a face touching the border is easily missed by the
    /// detector.
    pub fn from_photo(
        engine: &mut impl FaceEngine,
        photo: &FaceImage,
    ) -> Result<Reference, ReferenceError> {
        let decoded = engine.decode_photo(photo)?;
        Reference::from_image(engine, decoded.view())
    }

    /// The reference from an already decoded image (e.g. `kioskctl face
    /// match --reference IMG`).
    pub fn from_image(
        engine: &mut impl FaceEngine,
        image: ImageView<'_>,
    ) -> Result<Reference, ReferenceError> {
        let border = image.width().max(image.height()) / 4;
        let padded = image.framed(border, image.edge_colour());
        let faces = engine.detect(padded.view())?;
        // The photo's face: the most confident one whose centre is inside
        // the photo itself (not in the added frame).
        let (b, w, h) = (border as f32, image.width() as f32, image.height() as f32);
        let face = faces
            .iter()
            .filter(|f| {
                let c = f.bbox.centre();
                c.x >= b && c.y >= b && c.x < b + w && c.y < b + h
            })
            .max_by(|a, b| a.score.total_cmp(&b.score))
            .ok_or(ReferenceError::NoFace)?;
        let aligned = engine.align(padded.view(), face)?;
        let embedding = engine.embed(&aligned)?;
        Ok(Reference {
            embedding,
            photo: PhotoFacts {
                width: image.width(),
                height: image.height(),
                eye_distance_px: face.landmarks.eye_distance(),
                detector_score: face.score,
            },
        })
    }

    /// The reference embedding as little-endian bytes (tests that prove it
    /// never reaches the disk).
    #[cfg(any(test, feature = "testkit"))]
    pub fn embedding_le_bytes(&self) -> Vec<u8> {
        self.embedding.to_le_bytes()
    }

    /// Cosine similarity of a live embedding to this reference.
    pub fn similarity(&self, live: &Embedding) -> f32 {
        self.embedding.cosine(live)
    }
}

/// What one frame showed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// Frame width.
    pub frame_width: u32,
    /// Frame height.
    pub frame_height: u32,
    /// People in view (see [`QualityGates::people`]).
    pub people: usize,
    /// The main (largest) face, when there is one.
    pub face: Option<FaceObservation>,
}

/// The main face of a frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceObservation {
    /// Where it is.
    pub detection: Detection,
    /// How good it is.
    pub quality: Quality,
    /// The first failed capture gate, if any (pose apart).
    pub issue: Option<QualityIssue>,
    /// Similarity to the reference; computed when the capture gates pass
    /// and the face is frontal.
    pub similarity: Option<f32>,
    /// Passive liveness ("real") probability; when the gates pass and the
    /// models are loaded.
    pub liveness: Option<f32>,
}

impl Observation {
    /// The issue that keeps this frame from being used (pose apart).
    pub fn issue(&self) -> Option<QualityIssue> {
        match (&self.face, self.people) {
            (None, _) | (_, 0) => Some(QualityIssue::NoFace),
            (Some(_), n) if n > 1 => Some(QualityIssue::SeveralFaces),
            (Some(f), _) => f.issue,
        }
    }
}

/// Analyses one frame against the reference.
pub fn observe(
    engine: &mut impl FaceEngine,
    frame: ImageView<'_>,
    reference: &Reference,
    gates: &QualityGates,
) -> Result<Observation, FaceError> {
    let faces = engine.detect(frame)?;
    let people = gates.people(&faces);
    let main = faces
        .iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
        .copied();
    let mut observation = Observation {
        frame_width: frame.width(),
        frame_height: frame.height(),
        people,
        face: None,
    };
    let Some(detection) = main else {
        return Ok(observation);
    };
    let Some(pose) = Pose::from_landmarks(&detection.landmarks) else {
        return Ok(observation);
    };
    let aligned = engine.align(frame, &detection)?;
    let quality = quality::measure(&aligned, &detection, pose, frame.width());
    let issue = gates.check_capture(&quality);
    // Only usable frames are scored, and only frontal ones are compared
    // with the reference (a turned face scores low for everyone); the
    // passive liveness models judge every usable frame.
    let usable = issue.is_none() && people == 1;
    let similarity = if usable && gates.check_frontal(&pose).is_none() {
        let live = engine.embed(&aligned)?;
        Some(reference.similarity(&live))
    } else {
        None
    };
    let liveness = if usable {
        engine.liveness_score(frame, &detection)?
    } else {
        None
    };
    observation.face = Some(FaceObservation {
        detection,
        quality,
        issue,
        similarity,
        liveness,
    });
    Ok(observation)
}
