//! The OpenCV face engine (feature `opencv`): YuNet 2023mar for detection
//! (through `dnn::Net`, outputs decoded by [`super::yunet`]), SFace 2021dec
//! for alignment (`FaceRecognizerSF::alignCrop`) and features, MiniFASNet
//! V2 and V1SE for the passive liveness score, and chip-photo decoding.
//!
//! Runs on Debian bookworm's OpenCV 4.6 and unchanged on 4.8+: it uses no
//! API newer than 4.5.4 (`FaceRecognizerSF`) and no `FaceDetectorYN`.
//!
//! Model files are read once at start, their sha256 checked against the
//! values the firmware was calibrated with ([`KNOWN_MODELS`]); a mismatch
//! is [`FaceError::ModelHash`], never a silent fallback.
//!
//! Chip photos: JPEG and JPEG 2000 through `imgcodecs::imdecode`; a JPEG
//! 2000 codestream OpenCV rejects (chroma-subsampled components, which
//! OpenCV's OpenJPEG reader refuses) goes to OpenJPEG directly (crate
//! `jpeg2k`), whose components are upsampled and converted from YCbCr here.

use super::yunet::{self, DecodeConfig, Letterbox, Outputs};
use super::{BgrImage, Detection, Embedding, FaceEngine, FaceError, ImageView, ModelIdentity};
use crate::icao::lds::{FaceImage, ImageFormat};
use opencv::core::{self as cv, Mat, MatTraitConst, Scalar, Size, Vector};
use opencv::dnn::{self, NetTrait};
use opencv::objdetect::{FaceRecognizerSF, FaceRecognizerSFTrait, FaceRecognizerSFTraitConst};
use opencv::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The model files this firmware was calibrated with: `(file name, sha256)`.
pub const KNOWN_MODELS: [(&str, &str); 4] = [
    (
        DETECTOR_FILE,
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    ),
    (
        RECOGNIZER_FILE,
        "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    ),
    (
        PAD_V2_FILE,
        "4eed38f0bde33c9b805942a5f25e42ce1161e2bda545254be622be957727794e",
    ),
    (
        PAD_V1SE_FILE,
        "d819a69bac6b9ade2a0f4d9b60b618e1260f7bf3ba1fddff6c5d82131cb1083f",
    ),
];

/// YuNet 2023mar.
pub const DETECTOR_FILE: &str = "face_detection_yunet_2023mar.onnx";
/// SFace 2021dec.
pub const RECOGNIZER_FILE: &str = "face_recognition_sface_2021dec.onnx";
/// MiniFASNetV2 (crop 2.7×).
pub const PAD_V2_FILE: &str = "MiniFASNetV2.onnx";
/// MiniFASNetV1SE (crop 4.0×).
pub const PAD_V1SE_FILE: &str = "MiniFASNetV1SE.onnx";

/// Where the model files are and which to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The folder holding them.
    pub dir: PathBuf,
    /// Load the passive liveness models (both must be there).
    pub passive_liveness: bool,
}

impl ModelFiles {
    /// Whether the passive liveness files are both in `dir`.
    pub fn has_passive_liveness(dir: &Path) -> bool {
        Self::missing_passive(dir).is_empty()
    }

    /// The names of the passive liveness files that are not in `dir`.
    pub fn missing_passive(dir: &Path) -> Vec<String> {
        Self::missing_of(dir, &[PAD_V2_FILE, PAD_V1SE_FILE])
    }

    /// The names of the detector and recogniser files that are not in `dir`
    /// (without them no face check can run).
    pub fn missing_core(dir: &Path) -> Vec<String> {
        Self::missing_of(dir, &[DETECTOR_FILE, RECOGNIZER_FILE])
    }

    fn missing_of(dir: &Path, files: &[&str]) -> Vec<String> {
        files
            .iter()
            .filter(|f| !dir.join(f).is_file())
            .map(|f| (*f).to_string())
            .collect()
    }
}

/// The OpenCV version this engine runs on (e.g. `4.6.0`).
pub fn opencv_version() -> String {
    opencv::core::get_version_string().unwrap_or_default()
}

fn cv_err(e: opencv::Error) -> FaceError {
    FaceError::Engine(e.to_string())
}

/// Reads a model file and checks its sha256 against [`KNOWN_MODELS`].
fn read_verified(
    dir: &Path,
    file: &str,
    identity: &mut ModelIdentity,
) -> Result<Vec<u8>, FaceError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| FaceError::ModelFile {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let actual = hex_string(&Sha256::digest(&bytes));
    let expected = KNOWN_MODELS
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, h)| *h)
        .unwrap_or_default();
    if actual != expected {
        return Err(FaceError::ModelHash {
            file: path.display().to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    identity.models.push((file.to_string(), actual));
    Ok(bytes)
}

fn hex_string(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn load_net(bytes: &[u8], file: &str) -> Result<dnn::Net, FaceError> {
    let buffer = Vector::<u8>::from_slice(bytes);
    let mut net = dnn::read_net_from_onnx_buffer(&buffer).map_err(|e| FaceError::ModelLoad {
        file: file.to_string(),
        reason: e.to_string(),
    })?;
    net.set_preferable_backend(dnn::DNN_BACKEND_OPENCV)
        .and_then(|()| net.set_preferable_target(dnn::DNN_TARGET_CPU))
        .map_err(|e| FaceError::ModelLoad {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
    Ok(net)
}

/// A passive liveness model and its crop scale.
struct PadModel {
    net: dnn::Net,
    scale: f32,
}

/// The OpenCV engine.
pub struct OpenCvEngine {
    detector: dnn::Net,
    recognizer: opencv::core::Ptr<FaceRecognizerSF>,
    pad: Vec<PadModel>,
    decode: DecodeConfig,
    identity: ModelIdentity,
    output_names: Vector<String>,
}

impl std::fmt::Debug for OpenCvEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenCvEngine")
            .field("models", &self.identity)
            .field("passive_liveness", &!self.pad.is_empty())
            .finish_non_exhaustive()
    }
}

impl OpenCvEngine {
    /// Loads and verifies the models.
    pub fn load(files: &ModelFiles) -> Result<OpenCvEngine, FaceError> {
        let mut identity = ModelIdentity::default();
        let detector = load_net(
            &read_verified(&files.dir, DETECTOR_FILE, &mut identity)?,
            DETECTOR_FILE,
        )?;
        // FaceRecognizerSF loads from a path; the bytes were verified
        // first (the file is the kiosk's own, read-only in deployment).
        read_verified(&files.dir, RECOGNIZER_FILE, &mut identity)?;
        let sface = files.dir.join(RECOGNIZER_FILE);
        let recognizer = FaceRecognizerSF::create(
            &sface.to_string_lossy(),
            "",
            dnn::DNN_BACKEND_OPENCV,
            dnn::DNN_TARGET_CPU,
        )
        .map_err(|e| FaceError::ModelLoad {
            file: RECOGNIZER_FILE.to_string(),
            reason: e.to_string(),
        })?;
        let mut pad = Vec::new();
        if files.passive_liveness {
            for (file, scale) in [(PAD_V2_FILE, 2.7), (PAD_V1SE_FILE, 4.0)] {
                let net = load_net(&read_verified(&files.dir, file, &mut identity)?, file)?;
                pad.push(PadModel { net, scale });
            }
        }
        let output_names: Vector<String> = yunet::OUTPUT_NAMES.iter().copied().collect();
        Ok(OpenCvEngine {
            detector,
            recognizer,
            pad,
            decode: DecodeConfig::default(),
            identity,
            output_names,
        })
    }

    /// Sets the detector's thresholds.
    pub fn set_decode_config(&mut self, config: DecodeConfig) {
        self.decode = config;
    }

    /// Whether the passive liveness models are loaded.
    pub fn has_passive_liveness(&self) -> bool {
        !self.pad.is_empty()
    }
}

/// A `Mat` over a copy of the view's pixels.
fn to_mat(image: ImageView<'_>) -> Result<Mat, FaceError> {
    let flat = Mat::from_slice(image.data()).map_err(cv_err)?;
    let shaped = flat.reshape(3, image.height() as i32).map_err(cv_err)?;
    shaped.try_clone().map_err(cv_err)
}

/// The pixels of a continuous 8-bit 3-channel `Mat` (zeroizing the Mat's
/// copy is OpenCV's business; the Mat is dropped right after).
fn from_mat(mat: &Mat) -> Result<BgrImage, FaceError> {
    if mat.typ() != cv::CV_8UC3 {
        return Err(FaceError::Engine(format!(
            "unexpected Mat type {}",
            mat.typ()
        )));
    }
    let mat = if mat.is_continuous() {
        mat.try_clone().map_err(cv_err)?
    } else {
        mat.clone()
    };
    let bytes = mat.data_bytes().map_err(cv_err)?.to_vec();
    BgrImage::new(mat.cols() as u32, mat.rows() as u32, bytes)
}

fn floats(mat: &Mat) -> Result<Vec<f32>, FaceError> {
    let mat = if mat.is_continuous() {
        mat.try_clone().map_err(cv_err)?
    } else {
        mat.clone()
    };
    Ok(mat.data_typed::<f32>().map_err(cv_err)?.to_vec())
}

impl FaceEngine for OpenCvEngine {
    fn decode_photo(&mut self, photo: &FaceImage) -> Result<BgrImage, FaceError> {
        decode_photo(photo)
    }

    fn detect(&mut self, image: ImageView<'_>) -> Result<Vec<Detection>, FaceError> {
        let side = yunet::INPUT_SIZE;
        let fit = Letterbox::fit(image.width(), image.height(), side);
        let src = to_mat(image)?;
        let mut scaled = Mat::default();
        opencv::imgproc::resize(
            &src,
            &mut scaled,
            Size::new(fit.width as i32, fit.height as i32),
            0.0,
            0.0,
            opencv::imgproc::INTER_AREA,
        )
        .map_err(cv_err)?;
        let mut input = Mat::default();
        cv::copy_make_border(
            &scaled,
            &mut input,
            0,
            (side - fit.height) as i32,
            0,
            (side - fit.width) as i32,
            cv::BORDER_CONSTANT,
            Scalar::all(0.0),
        )
        .map_err(cv_err)?;
        let blob = dnn::blob_from_image(
            &input,
            1.0,
            Size::new(side as i32, side as i32),
            Scalar::all(0.0),
            false,
            false,
            cv::CV_32F,
        )
        .map_err(cv_err)?;
        self.detector
            .set_input(&blob, "", 1.0, Scalar::all(0.0))
            .map_err(cv_err)?;
        let mut outs = Vector::<Mat>::new();
        self.detector
            .forward(&mut outs, &self.output_names)
            .map_err(cv_err)?;
        if outs.len() != 12 {
            return Err(FaceError::Engine(format!(
                "YuNet gave {} outputs, expected 12",
                outs.len()
            )));
        }
        let mut o = Outputs::default();
        for i in 0..3 {
            o.cls[i] = floats(&outs.get(i).map_err(cv_err)?)?;
            o.obj[i] = floats(&outs.get(3 + i).map_err(cv_err)?)?;
            o.bbox[i] = floats(&outs.get(6 + i).map_err(cv_err)?)?;
            o.kps[i] = floats(&outs.get(9 + i).map_err(cv_err)?)?;
        }
        let faces = yunet::decode(&o, side, side, &self.decode)
            .map_err(|e| FaceError::Engine(e.to_string()))?;
        Ok(faces.iter().map(|d| fit.unmap(d)).collect())
    }

    fn align(&mut self, image: ImageView<'_>, face: &Detection) -> Result<BgrImage, FaceError> {
        let src = to_mat(image)?;
        let row = face.to_row();
        let face_mat = Mat::from_slice(&row).map_err(cv_err)?;
        let mut aligned = Mat::default();
        self.recognizer
            .align_crop(&src, &face_mat, &mut aligned)
            .map_err(cv_err)?;
        from_mat(&aligned)
    }

    fn embed(&mut self, aligned: &BgrImage) -> Result<Embedding, FaceError> {
        let src = to_mat(aligned.view())?;
        let mut feature = Mat::default();
        self.recognizer
            .feature(&src, &mut feature)
            .map_err(cv_err)?;
        // Clone out before the next call reuses OpenCV's buffers.
        Ok(Embedding::new(floats(&feature)?))
    }

    fn liveness_score(
        &mut self,
        image: ImageView<'_>,
        face: &Detection,
    ) -> Result<Option<f32>, FaceError> {
        if self.pad.is_empty() {
            return Ok(None);
        }
        let mut real = 0.0;
        for model in &mut self.pad {
            let crop = pad_crop(image, face, model.scale)
                .ok_or_else(|| FaceError::Engine("face box outside the frame".into()))?;
            let src = to_mat(crop.view())?;
            let mut input = Mat::default();
            opencv::imgproc::resize(
                &src,
                &mut input,
                Size::new(80, 80),
                0.0,
                0.0,
                opencv::imgproc::INTER_LINEAR,
            )
            .map_err(cv_err)?;
            // Raw BGR values 0–255, NCHW: the models' training input.
            let blob = dnn::blob_from_image(
                &input,
                1.0,
                Size::new(80, 80),
                Scalar::all(0.0),
                false,
                false,
                cv::CV_32F,
            )
            .map_err(cv_err)?;
            model
                .net
                .set_input(&blob, "", 1.0, Scalar::all(0.0))
                .map_err(cv_err)?;
            let out = model.net.forward_single("").map_err(cv_err)?;
            let logits = floats(&out)?;
            if logits.len() != 3 {
                return Err(FaceError::Engine(format!(
                    "MiniFASNet gave {} logits, expected 3",
                    logits.len()
                )));
            }
            real += softmax(&logits)[1];
        }
        Ok(Some(real / self.pad.len() as f32))
    }

    fn models(&self) -> &ModelIdentity {
        &self.identity
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let exp: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|v| v / sum).collect()
}

/// The Silent-Face crop: the face box scaled by `scale` about its centre
/// (less when the frame is too small for it), clipped to the frame.
pub fn pad_crop(image: ImageView<'_>, face: &Detection, scale: f32) -> Option<BgrImage> {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let b = face.bbox;
    if b.width < 1.0 || b.height < 1.0 {
        return None;
    }
    let scale = scale.min((h - 1.0) / b.height).min((w - 1.0) / b.width);
    let (nw, nh) = (b.width * scale, b.height * scale);
    let c = b.centre();
    let x1 = (c.x - nw / 2.0).max(0.0) as i64;
    let y1 = (c.y - nh / 2.0).max(0.0) as i64;
    let x2 = ((c.x + nw / 2.0) as i64).min(image.width() as i64 - 1);
    let y2 = ((c.y + nh / 2.0) as i64).min(image.height() as i64 - 1);
    if x2 < x1 || y2 < y1 {
        return None;
    }
    image.crop(x1, y1, (x2 - x1 + 1) as u32, (y2 - y1 + 1) as u32)
}

/// Decodes a chip photo: OpenCV first, OpenJPEG for JPEG 2000 that OpenCV
/// rejects.
pub fn decode_photo(photo: &FaceImage) -> Result<BgrImage, FaceError> {
    match photo.format {
        ImageFormat::Jpeg | ImageFormat::Jpeg2000 => {}
        other => return Err(FaceError::UnsupportedPhoto(other)),
    }
    // OpenCV refuses subsampled components (and says so on stderr): send
    // those straight to OpenJPEG.
    if photo.format == ImageFormat::Jpeg2000 && super::image::j2k_subsampled(&photo.data) {
        return decode_j2k(&photo.data);
    }
    let opencv = Vector::<u8>::from_slice(&photo.data);
    let decoded = opencv::imgcodecs::imdecode(&opencv, opencv::imgcodecs::IMREAD_COLOR);
    match decoded {
        Ok(mat) if !mat.empty() => from_mat(&mat),
        result => {
            let why = match result {
                Err(e) => e.to_string(),
                Ok(_) => "OpenCV returned an empty image".to_string(),
            };
            if photo.format == ImageFormat::Jpeg2000 {
                decode_j2k(&photo.data)
            } else {
                Err(FaceError::PhotoDecode(why))
            }
        }
    }
}

/// Decodes JPEG 2000 with OpenJPEG: one or three components of up to 16
/// bits, chroma possibly subsampled (then taken as YCbCr, as OpenJPEG's
/// own tools do).
pub fn decode_j2k(data: &[u8]) -> Result<BgrImage, FaceError> {
    let image = jpeg2k::Image::from_bytes(data)
        .map_err(|e| FaceError::PhotoDecode(format!("OpenJPEG: {e}")))?;
    let (w, h) = (image.width(), image.height());
    let comps = image.components();
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return Err(FaceError::PhotoDecode(format!("implausible size {w}×{h}")));
    }
    let planes: Vec<Plane<'_>> = comps
        .iter()
        .map(|c| Plane {
            width: c.width(),
            height: c.height(),
            data: c.data(),
            shift: c.precision().saturating_sub(8),
            offset: if c.is_signed() {
                1i32 << (c.precision().max(1) - 1)
            } else {
                0
            },
        })
        .collect();
    for p in &planes {
        if p.width == 0 || p.height == 0 || p.data.len() < (p.width * p.height) as usize {
            return Err(FaceError::PhotoDecode("an empty or short component".into()));
        }
    }
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    match planes.as_slice() {
        [g] | [g, _] => {
            for y in 0..h {
                for x in 0..w {
                    let v = g.at(x, y, w, h);
                    out.extend_from_slice(&[v, v, v]);
                }
            }
        }
        [a, b, c, ..] => {
            let subsampled = (b.width, b.height) != (a.width, a.height)
                || (c.width, c.height) != (a.width, a.height)
                || matches!(image.color_space(), jpeg2k::ColorSpace::SYCC);
            for y in 0..h {
                for x in 0..w {
                    let (p0, p1, p2) = (a.at(x, y, w, h), b.at(x, y, w, h), c.at(x, y, w, h));
                    let [r, g, bl] = if subsampled {
                        ycc_to_rgb(p0, p1, p2)
                    } else {
                        [p0, p1, p2]
                    };
                    out.extend_from_slice(&[bl, g, r]);
                }
            }
        }
        [] => return Err(FaceError::PhotoDecode("no components".into())),
    }
    BgrImage::new(w, h, out)
}

struct Plane<'a> {
    width: u32,
    height: u32,
    data: &'a [i32],
    shift: u32,
    offset: i32,
}

impl Plane<'_> {
    /// The component's value at image pixel (x, y) of a `w`×`h` image
    /// (nearest sample of a subsampled component), as 8 bits.
    fn at(&self, x: u32, y: u32, w: u32, h: u32) -> u8 {
        let px =
            (u64::from(x) * u64::from(self.width) / u64::from(w)).min(u64::from(self.width - 1));
        let py =
            (u64::from(y) * u64::from(self.height) / u64::from(h)).min(u64::from(self.height - 1));
        let v = self.data[(py * u64::from(self.width) + px) as usize] + self.offset;
        (v >> self.shift).clamp(0, 255) as u8
    }
}

/// Full-range YCbCr (JFIF, as OpenJPEG's sYCC) to RGB.
fn ycc_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let r = y + 1.402 * cr;
    let g = y - 0.344_136 * cb - 0.714_136 * cr;
    let b = y + 1.772 * cb;
    [r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pad_crop_is_the_scaled_box_clipped_to_the_frame() {
        let img = BgrImage::filled(200, 100, [1, 2, 3]);
        let face = Detection {
            bbox: crate::face::Rect {
                x: 80.0,
                y: 30.0,
                width: 40.0,
                height: 40.0,
            },
            ..Detection::default()
        };
        let c = pad_crop(img.view(), &face, 2.0).unwrap();
        assert_eq!((c.width(), c.height()), (81, 81));
        // Scale limited by the frame's height: at most 99/40.
        let c = pad_crop(img.view(), &face, 4.0).unwrap();
        assert!(c.height() <= 100 && c.width() < 120, "{c:?}");
        let none = Detection::default();
        assert!(pad_crop(img.view(), &none, 2.7).is_none());
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_the_order() {
        let p = softmax(&[1.0, 3.0, 2.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[2] && p[2] > p[0]);
    }

    #[test]
    fn full_range_ycc_grey_stays_grey() {
        assert_eq!(ycc_to_rgb(128, 128, 128), [128, 128, 128]);
        let [r, g, b] = ycc_to_rgb(76, 85, 255);
        assert!(r > 240 && g < 10 && b < 10, "{r} {g} {b}");
    }
}
