//! Face verification: is the person at the camera the holder of the card,
//! and a live person?
//!
//! Each piece has one job:
//! - [`FaceEngine`]: the port to a face model stack (decode the chip photo,
//!   detect, align, embed, presentation-attack score).
//!   `opencv::OpenCvEngine` (feature `opencv`) runs YuNet 2023mar, SFace
//!   2021dec and MiniFASNet V2/V1SE through OpenCV's `dnn`.
//! - [`yunet`]: our own decoding of YuNet's raw outputs, so that the
//!   detector runs on Debian's OpenCV 4.6 (whose `FaceDetectorYN` cannot run
//!   the 2023mar graph) and unchanged on 4.8+.
//! - [`image`]: owned and borrowed BGR images, zeroized on drop.
//! - [`pose`]: head pose (yaw, pitch, roll) from the five landmarks.
//! - [`quality`]: per-frame quality gates (one face, size, detector score,
//!   sharpness, exposure, pose) and the guidance they give the citizen.
//! - [`liveness`]: the active challenge (a randomised head turn) and the
//!   passive score policy.
//! - [`analysis`]: a frame and an engine → an [`analysis::Observation`];
//!   the chip photo → a [`analysis::Reference`].
//! - [`check`]: one attempt as a sans-IO machine: observations and `now`
//!   in, guidance and a [`check::Decision`] out. Attempts and the hand-over
//!   to staff are the session's (`session::Session`).
//!
//! Privacy: frames, crops, decoded photos and embeddings live only in
//! memory, are zeroized on drop, and are never logged or written anywhere.
//! A decision is logged with its score, threshold, model hashes and quality
//! figures only.

pub mod analysis;
pub mod check;
pub mod image;
pub mod liveness;
#[cfg(feature = "opencv")]
pub mod opencv;
pub mod pose;
pub mod quality;
pub mod yunet;

use crate::icao::lds::ImageFormat;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

pub use self::image::{BgrImage, ImageView};

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    /// Column, from the left edge.
    pub x: f32,
    /// Row, from the top edge.
    pub y: f32,
}

impl Point {
    /// A point.
    pub const fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    /// The midpoint of `self` and `other`.
    pub fn mid(self, other: Point) -> Point {
        Point::new((self.x + other.x) / 2.0, (self.y + other.y) / 2.0)
    }

    /// The distance to `other`.
    pub fn distance(self, other: Point) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl Rect {
    /// Area in square pixels (0 for degenerate boxes).
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// The centre.
    pub fn centre(&self) -> Point {
        Point::new(self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    /// Intersection over union with `other`, in 0..=1.
    pub fn iou(&self, other: &Rect) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The box scaled by `factor` about the origin (for mapping between
    /// image scales).
    pub fn scaled(&self, factor: f32) -> Rect {
        Rect {
            x: self.x * factor,
            y: self.y * factor,
            width: self.width * factor,
            height: self.height * factor,
        }
    }
}

/// The five facial landmarks YuNet gives, named for the subject (the
/// subject's right eye is on the image's left in an unmirrored camera).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Landmarks {
    /// Centre of the right eye.
    pub right_eye: Point,
    /// Centre of the left eye.
    pub left_eye: Point,
    /// Tip of the nose.
    pub nose: Point,
    /// Right corner of the mouth.
    pub right_mouth: Point,
    /// Left corner of the mouth.
    pub left_mouth: Point,
}

impl Landmarks {
    /// The landmarks in YuNet's (and `FaceRecognizerSF::alignCrop`'s) order.
    pub fn points(&self) -> [Point; 5] {
        [
            self.right_eye,
            self.left_eye,
            self.nose,
            self.right_mouth,
            self.left_mouth,
        ]
    }

    /// Distance between the eye centres, in pixels: the usual measure of
    /// face size (ISO/IEC 19794-5 asks for at least 90 px in a passport
    /// photo; chip photos of ID cards often have 20–60).
    pub fn eye_distance(&self) -> f32 {
        self.right_eye.distance(self.left_eye)
    }

    /// Every point scaled by `factor` about the origin.
    pub fn scaled(&self, factor: f32) -> Landmarks {
        let s = |p: Point| Point::new(p.x * factor, p.y * factor);
        Landmarks {
            right_eye: s(self.right_eye),
            left_eye: s(self.left_eye),
            nose: s(self.nose),
            right_mouth: s(self.right_mouth),
            left_mouth: s(self.left_mouth),
        }
    }

    /// Every point moved by (`dx`, `dy`).
    pub fn shifted(&self, dx: f32, dy: f32) -> Landmarks {
        let s = |p: Point| Point::new(p.x + dx, p.y + dy);
        Landmarks {
            right_eye: s(self.right_eye),
            left_eye: s(self.left_eye),
            nose: s(self.nose),
            right_mouth: s(self.right_mouth),
            left_mouth: s(self.left_mouth),
        }
    }
}

/// One detected face.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Detection {
    /// The face box.
    pub bbox: Rect,
    /// The five landmarks.
    pub landmarks: Landmarks,
    /// Detector confidence, 0..=1.
    pub score: f32,
}

impl Detection {
    /// The 15 values `FaceRecognizerSF::alignCrop` expects: box (x, y, w,
    /// h), the five landmarks (x, y each), score.
    pub fn to_row(&self) -> [f32; 15] {
        let mut row = [0.0; 15];
        row[0] = self.bbox.x;
        row[1] = self.bbox.y;
        row[2] = self.bbox.width;
        row[3] = self.bbox.height;
        for (i, p) in self.landmarks.points().iter().enumerate() {
            row[4 + 2 * i] = p.x;
            row[5 + 2 * i] = p.y;
        }
        row[14] = self.score;
        row
    }

    /// The detection scaled by `factor` about the origin.
    pub fn scaled(&self, factor: f32) -> Detection {
        Detection {
            bbox: self.bbox.scaled(factor),
            landmarks: self.landmarks.scaled(factor),
            score: self.score,
        }
    }

    /// The detection moved by (`dx`, `dy`).
    pub fn shifted(&self, dx: f32, dy: f32) -> Detection {
        Detection {
            bbox: Rect {
                x: self.bbox.x + dx,
                y: self.bbox.y + dy,
                ..self.bbox
            },
            landmarks: self.landmarks.shifted(dx, dy),
            score: self.score,
        }
    }
}

/// A face feature vector (SFace: 128 values). Biometric data: zeroized on
/// drop, never printed, logged or stored.
#[derive(Clone, PartialEq, Zeroize, ZeroizeOnDrop)]
pub struct Embedding(Vec<f32>);

impl Embedding {
    /// Wraps a feature vector.
    pub fn new(values: Vec<f32>) -> Embedding {
        Embedding(values)
    }

    /// The number of dimensions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values as little-endian bytes: for tests that prove no
    /// embedding reaches the disk (never for storing one).
    #[cfg(any(test, feature = "testkit"))]
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Cosine similarity with `other`, in -1..=1; 0 when either is zero or
    /// the lengths differ.
    pub fn cosine(&self, other: &Embedding) -> f32 {
        if self.0.len() != other.0.len() {
            return 0.0;
        }
        let (mut dot, mut a, mut b) = (0.0f64, 0.0f64, 0.0f64);
        for (x, y) in self.0.iter().zip(&other.0) {
            let (x, y) = (f64::from(*x), f64::from(*y));
            dot += x * y;
            a += x * x;
            b += y * y;
        }
        if a <= 0.0 || b <= 0.0 {
            return 0.0;
        }
        let c = (dot / (a.sqrt() * b.sqrt())) as f32;
        c.clamp(-1.0, 1.0)
    }
}

impl core::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Embedding({} dims)", self.0.len())
    }
}

/// Which model files an engine runs, by name and sha256: logged with every
/// decision so that a score can be traced to the models that made it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ModelIdentity {
    /// `(file name, sha256 hex)` of each loaded model.
    pub models: Vec<(String, String)>,
}

/// Why a face engine could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaceError {
    /// A model file could not be read. Remedy: run `cargo xtask setup` or
    /// check `face.model_dir` in the board configuration.
    #[error("cannot read model file {file}: {reason}")]
    ModelFile {
        /// The file.
        file: String,
        /// The OS error.
        reason: String,
    },
    /// A model file's sha256 is not the one this firmware was calibrated
    /// with. Remedy: replace the file with the right one (`cargo xtask
    /// setup` verifies and fetches it); never bypass the check.
    #[error("model file {file} has sha256 {actual}, expected {expected}")]
    ModelHash {
        /// The file.
        file: String,
        /// The expected sha256.
        expected: String,
        /// The sha256 found.
        actual: String,
    },
    /// OpenCV could not load a model. Remedy: the file is damaged or the
    /// OpenCV build lacks the `dnn` ONNX importer.
    #[error("cannot load model {file}: {reason}")]
    ModelLoad {
        /// The file.
        file: String,
        /// The library's error.
        reason: String,
    },
    /// The chip photo has an encoding the kiosk cannot decode (DG2 image
    /// data type other than JPEG and JPEG 2000).
    #[error("the chip photo's encoding ({0:?}) is not supported")]
    UnsupportedPhoto(ImageFormat),
    /// The chip photo's bytes could not be decoded (damaged or truncated).
    #[error("the chip photo cannot be decoded: {0}")]
    PhotoDecode(String),
    /// A frame's buffer does not match its declared size or pixel format.
    #[error("bad frame: {0}")]
    BadFrame(String),
    /// The model runtime failed while processing an image.
    #[error("face engine failure: {0}")]
    Engine(String),
}

/// A face model stack. Implementations keep no copies of the images they
/// are given and write nothing anywhere.
pub trait FaceEngine {
    /// Decodes the chip photo (DG2) to a BGR image.
    fn decode_photo(&mut self, photo: &crate::icao::lds::FaceImage) -> Result<BgrImage, FaceError>;

    /// Finds the faces in `image`, most confident first.
    fn detect(&mut self, image: ImageView<'_>) -> Result<Vec<Detection>, FaceError>;

    /// The face aligned to the recogniser's template (SFace: 112×112 BGR).
    fn align(&mut self, image: ImageView<'_>, face: &Detection) -> Result<BgrImage, FaceError>;

    /// The feature vector of an aligned face.
    fn embed(&mut self, aligned: &BgrImage) -> Result<Embedding, FaceError>;

    /// The probability (0..=1) that the face is a live person rather than a
    /// print or a screen, from the passive presentation-attack models; `None`
    /// when none are loaded.
    fn liveness_score(
        &mut self,
        image: ImageView<'_>,
        face: &Detection,
    ) -> Result<Option<f32>, FaceError>;

    /// The models this engine runs.
    fn models(&self) -> &ModelIdentity;
}

impl<T: FaceEngine + ?Sized> FaceEngine for &mut T {
    fn decode_photo(&mut self, photo: &crate::icao::lds::FaceImage) -> Result<BgrImage, FaceError> {
        T::decode_photo(self, photo)
    }
    fn detect(&mut self, image: ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
        T::detect(self, image)
    }
    fn align(&mut self, image: ImageView<'_>, face: &Detection) -> Result<BgrImage, FaceError> {
        T::align(self, image, face)
    }
    fn embed(&mut self, aligned: &BgrImage) -> Result<Embedding, FaceError> {
        T::embed(self, aligned)
    }
    fn liveness_score(
        &mut self,
        image: ImageView<'_>,
        face: &Detection,
    ) -> Result<Option<f32>, FaceError> {
        T::liveness_score(self, image, face)
    }
    fn models(&self) -> &ModelIdentity {
        T::models(self)
    }
}
