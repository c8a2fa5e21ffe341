//! `kioskctl face match|eval` and `kioskctl bench face`: the kiosk's own
//! face engine on image files, for staff checking a camera set-up and for
//! calibrating the match threshold.
//!
//! Images are read from the given files and never written anywhere.

use anyhow::{Context as _, bail};
use kiosk_board::config::Config;
use kiosk_firmware::face::analysis::Reference;
use kiosk_firmware::face::opencv::OpenCvEngine;
use kiosk_firmware::face::pose::Pose;
use kiosk_firmware::face::quality::{self, QualityGates};
use kiosk_firmware::face::{BgrImage, Detection, FaceEngine};
use kiosk_firmware::icao::lds::{FaceImage, ImageFormat};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The engine the configuration describes.
pub(crate) fn engine(config: &Config) -> anyhow::Result<OpenCvEngine> {
    kiosk_board::app::load_face_engine(&config.face)?.context(
        "no face model folder: set [face] model_dir in the configuration or KIOSK_MODEL_DIR \
         (`cargo xtask setup` fetches the models)",
    )
}

fn now() -> Instant {
    #[expect(
        clippy::disallowed_methods,
        reason = "kioskctl timing the engine's stages"
    )]
    Instant::now()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Decodes an image file: JPEG and JPEG 2000 the way chip photos are
/// (OpenCV, OpenJPEG for what it rejects), anything else with `image`.
fn decode(engine: &mut OpenCvEngine, path: &Path) -> anyhow::Result<BgrImage> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let format = if bytes.starts_with(&[0xFF, 0xD8]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(&[0xFF, 0x4F, 0xFF, 0x51])
        || bytes.starts_with(&[0, 0, 0, 0x0C, 0x6A, 0x50])
    {
        Some(ImageFormat::Jpeg2000)
    } else {
        None
    };
    if let Some(format) = format {
        let photo = FaceImage {
            format,
            width: 0,
            height: 0,
            data: bytes,
        };
        return engine
            .decode_photo(&photo)
            .with_context(|| path.display().to_string());
    }
    let img = image::load_from_memory(&bytes)
        .with_context(|| format!("{} is not an image", path.display()))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    let mut data = img.into_raw();
    for px in data.chunks_exact_mut(3) {
        px.swap(0, 2);
    }
    Ok(BgrImage::new(w, h, data)?)
}

/// One face of a probe image, measured.
#[derive(Debug, Serialize)]
struct ProbeFace {
    faces: usize,
    detector_score: f32,
    eye_distance_px: f32,
    pose: Pose,
    quality: quality::Quality,
    quality_issue: Option<quality::QualityIssue>,
    passive_liveness: Option<f32>,
}

#[derive(Debug, Default, Serialize, Clone, Copy)]
struct Stages {
    decode_ms: f64,
    detect_ms: f64,
    align_ms: f64,
    embed_ms: f64,
    liveness_ms: f64,
}

impl Stages {
    fn total(&self) -> f64 {
        self.decode_ms + self.detect_ms + self.align_ms + self.embed_ms + self.liveness_ms
    }
}

fn largest(faces: &[Detection]) -> Option<Detection> {
    faces
        .iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
        .copied()
}

/// Reference from an image, with its stage times.
fn reference(engine: &mut OpenCvEngine, path: &Path) -> anyhow::Result<(Reference, Stages)> {
    let t = now();
    let img = decode(engine, path)?;
    let decode_ms = ms(t.elapsed());
    let t = now();
    let r = Reference::from_image(engine, img.view())
        .with_context(|| format!("reference {}", path.display()))?;
    // from_image detects, aligns and embeds: split by a second timed pass
    // of the parts would double the work; report it as detect+align+embed.
    let rest = ms(t.elapsed());
    Ok((
        r,
        Stages {
            decode_ms,
            detect_ms: rest,
            ..Stages::default()
        },
    ))
}

/// A probe scored against the reference, with its stage times.
fn probe(
    engine: &mut OpenCvEngine,
    path: &Path,
    reference: &Reference,
    gates: &QualityGates,
) -> anyhow::Result<(f32, ProbeFace, Stages)> {
    let mut st = Stages::default();
    let t = now();
    let img = decode(engine, path)?;
    st.decode_ms = ms(t.elapsed());
    let t = now();
    let faces = engine.detect(img.view())?;
    st.detect_ms = ms(t.elapsed());
    let face = largest(&faces).with_context(|| format!("no face in {}", path.display()))?;
    let t = now();
    let aligned = engine.align(img.view(), &face)?;
    st.align_ms = ms(t.elapsed());
    let t = now();
    let embedding = engine.embed(&aligned)?;
    st.embed_ms = ms(t.elapsed());
    let t = now();
    let passive = engine.liveness_score(img.view(), &face)?;
    st.liveness_ms = ms(t.elapsed());
    let pose = Pose::from_landmarks(&face.landmarks).unwrap_or_default();
    let q = quality::measure(&aligned, &face, pose, img.width());
    let issue = gates
        .check_capture(&q)
        .or_else(|| gates.check_frontal(&pose));
    Ok((
        reference.similarity(&embedding),
        ProbeFace {
            faces: faces.len(),
            detector_score: face.score,
            eye_distance_px: face.landmarks.eye_distance(),
            pose,
            quality: q,
            quality_issue: issue,
            passive_liveness: passive,
        },
        st,
    ))
}

/// `kioskctl face match`.
pub(crate) fn face_match(
    json: bool,
    config: &Config,
    reference_path: &Path,
    probe_path: &Path,
    threshold: Option<f32>,
) -> anyhow::Result<ExitCode> {
    let mut engine = engine(config)?;
    let threshold = threshold.unwrap_or(config.face.check.threshold);
    let (r, ref_stages) = reference(&mut engine, reference_path)?;
    let (score, face, probe_stages) = probe(&mut engine, probe_path, &r, &config.face.check.gates)?;
    let matched = score >= threshold;
    let out = serde_json::json!({
        "ok": matched,
        "decision": if matched { "match" } else { "no_match" },
        "score": score,
        "threshold": threshold,
        "reference": { "photo": r.photo, "times_ms": ref_stages },
        "probe": { "face": face, "times_ms": probe_stages },
        "total_ms": ref_stages.total() + probe_stages.total(),
        "models": engine.models(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: score {score:.3} (threshold {threshold:.3}); probe: {} face(s), eyes {:.0} px apart, yaw {:.2}{}{}; {:.0} ms",
            if matched { "MATCH" } else { "NO MATCH" },
            face.faces,
            face.eye_distance_px,
            face.pose.yaw,
            face.quality_issue
                .map(|i| format!(", quality: {i:?}"))
                .unwrap_or_default(),
            face.passive_liveness
                .map(|p| format!(", passive liveness {p:.2}"))
                .unwrap_or_default(),
            ref_stages.total() + probe_stages.total()
        );
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One line of a pairs file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    pub(crate) reference: PathBuf,
    pub(crate) probe: PathBuf,
    pub(crate) same: bool,
}

/// Parses a pairs file: `REFERENCE PROBE same|different` per line, paths
/// relative to the file, `#` comments and blank lines ignored.
pub(crate) fn parse_pairs(text: &str, base: &Path) -> anyhow::Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [r, p, label] = parts.as_slice() else {
            bail!(
                "line {}: want `REFERENCE PROBE same|different`, got {line:?}",
                n + 1
            );
        };
        let same = match *label {
            "same" => true,
            "different" => false,
            other => bail!(
                "line {}: the label is `same` or `different`, not {other:?}",
                n + 1
            ),
        };
        pairs.push(Pair {
            reference: base.join(r),
            probe: base.join(p),
            same,
        });
    }
    if pairs.is_empty() {
        bail!("no pairs in the file");
    }
    Ok(pairs)
}

#[derive(Debug, Serialize, PartialEq)]
pub(crate) struct Distribution {
    pub(crate) pairs: usize,
    pub(crate) min: f32,
    pub(crate) mean: f32,
    pub(crate) max: f32,
}

fn distribution(scores: &[f32]) -> Option<Distribution> {
    if scores.is_empty() {
        return None;
    }
    Some(Distribution {
        pairs: scores.len(),
        min: scores.iter().copied().fold(f32::INFINITY, f32::min),
        mean: scores.iter().sum::<f32>() / scores.len() as f32,
        max: scores.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    })
}

/// The error rates at `threshold`: (false-match rate, false-non-match rate).
pub(crate) fn rates(genuine: &[f32], impostor: &[f32], threshold: f32) -> (f64, f64) {
    let fm = impostor.iter().filter(|s| **s >= threshold).count();
    let fnm = genuine.iter().filter(|s| **s < threshold).count();
    (
        fm as f64 / impostor.len().max(1) as f64,
        fnm as f64 / genuine.len().max(1) as f64,
    )
}

/// The lowest threshold whose false-match rate is at most `fmr`: just above
/// the impostor score that would be one false match too many.
pub(crate) fn threshold_for_fmr(impostor: &[f32], fmr: f64) -> Option<f32> {
    let mut s: Vec<f32> = impostor.to_vec();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| b.total_cmp(a));
    let allowed = (fmr * s.len() as f64).floor() as usize;
    let limit = s.get(allowed).copied()?;
    Some(f32::from_bits(limit.to_bits() + 1).max(limit + 1e-6))
}

/// `kioskctl face eval`.
pub(crate) fn eval(
    json: bool,
    config: &Config,
    pairs_path: &Path,
    threshold: Option<f32>,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(pairs_path).with_context(|| pairs_path.display().to_string())?;
    let base = pairs_path.parent().unwrap_or(Path::new("."));
    let pairs = parse_pairs(&text, base).with_context(|| pairs_path.display().to_string())?;
    let mut engine = engine(config)?;
    let threshold = threshold.unwrap_or(config.face.check.threshold);
    let mut refs: HashMap<PathBuf, Reference> = HashMap::new();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    let mut rows = Vec::new();
    for pair in &pairs {
        if !refs.contains_key(&pair.reference) {
            let (r, _) = reference(&mut engine, &pair.reference)?;
            refs.insert(pair.reference.clone(), r);
        }
        let r = &refs[&pair.reference];
        let (score, _, _) = probe(&mut engine, &pair.probe, r, &config.face.check.gates)?;
        if pair.same {
            genuine.push(score);
        } else {
            impostor.push(score);
        }
        rows.push(serde_json::json!({
            "reference": pair.reference, "probe": pair.probe, "same": pair.same, "score": score,
        }));
    }
    let (fmr, fnmr) = rates(&genuine, &impostor, threshold);
    let t3 = threshold_for_fmr(&impostor, 1e-3);
    let fnmr_at_t3 = t3.map(|t| rates(&genuine, &impostor, t).1);
    let out = serde_json::json!({
        "ok": true,
        "pairs": pairs.len(),
        "genuine": distribution(&genuine),
        "impostor": distribution(&impostor),
        "threshold": threshold,
        "fmr": fmr,
        "fnmr": fnmr,
        "threshold_fmr_1e-3": t3,
        "fnmr_at_fmr_1e-3": fnmr_at_t3,
        "fmr_resolution": 1.0 / impostor.len().max(1) as f64,
        "scores": rows,
        "models": engine.models(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} pairs: genuine {:?}, impostor {:?}\nat threshold {threshold:.3}: FMR {fmr:.4}, FNMR {fnmr:.4}\nthreshold for FMR 1e-3: {:?} (FNMR there {:?}; with {} impostor pairs the smallest measurable FMR is {:.4})",
            pairs.len(),
            distribution(&genuine),
            distribution(&impostor),
            t3,
            fnmr_at_t3,
            impostor.len(),
            1.0 / impostor.len().max(1) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let i = ((values.len() - 1) as f64 * p).round() as usize;
    values[i]
}

/// `kioskctl bench face`.
pub(crate) fn bench(
    json: bool,
    config: &Config,
    reference_path: &Path,
    probe_path: &Path,
    runs: usize,
    python: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut engine = engine(config)?;
    let runs = runs.max(1);
    // One warm-up decision: the first forward pass allocates.
    let (r, _) = reference(&mut engine, reference_path)?;
    probe(&mut engine, probe_path, &r, &config.face.check.gates)?;
    let mut totals = Vec::new();
    let mut stages: Vec<(Stages, Stages)> = Vec::new();
    let mut score = 0.0;
    for _ in 0..runs {
        let t = now();
        let (r, rs) = reference(&mut engine, reference_path)?;
        let (s, _, ps) = probe(&mut engine, probe_path, &r, &config.face.check.gates)?;
        totals.push(ms(t.elapsed()));
        stages.push((rs, ps));
        score = s;
    }
    let median = |f: &dyn Fn(&(Stages, Stages)) -> f64| {
        let mut v: Vec<f64> = stages.iter().map(f).collect();
        percentile(&mut v, 0.5)
    };
    let ours = serde_json::json!({
        "decision_ms": { "median": percentile(&mut totals.clone(), 0.5), "p95": percentile(&mut totals.clone(), 0.95) },
        "reference": {
            "decode_ms": median(&|s| s.0.decode_ms),
            "detect_align_embed_ms": median(&|s| s.0.detect_ms),
        },
        "probe": {
            "decode_ms": median(&|s| s.1.decode_ms),
            "detect_ms": median(&|s| s.1.detect_ms),
            "align_ms": median(&|s| s.1.align_ms),
            "embed_ms": median(&|s| s.1.embed_ms),
            "passive_liveness_ms": median(&|s| s.1.liveness_ms),
        },
        "score": score,
        "opencv": kiosk_firmware::face::opencv::opencv_version(),
    });
    let reference_run = match python {
        None => serde_json::Value::Null,
        Some(python) => python_reference(python, config, reference_path, probe_path, runs)?,
    };
    let ratio = reference_run
        .get("decision_ms")
        .and_then(|d| d.get("median"))
        .and_then(serde_json::Value::as_f64)
        .map(|theirs| percentile(&mut totals.clone(), 0.5) / theirs);
    let out = serde_json::json!({
        "ok": true,
        "runs": runs,
        "kiosk": ours,
        "opencv_python_reference": reference_run,
        "ratio_kiosk_to_reference": ratio,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        let k = &out["kiosk"];
        println!(
            "one face decision (two faces), {runs} runs, OpenCV {}:\n  kiosk: median {:.1} ms, p95 {:.1} ms\n    reference: decode {:.1}, detect+align+embed {:.1}\n    probe: decode {:.1}, detect {:.1}, align {:.1}, embed {:.1}, passive liveness {:.1}",
            k["opencv"].as_str().unwrap_or("?"),
            f(&k["decision_ms"]["median"]),
            f(&k["decision_ms"]["p95"]),
            f(&k["reference"]["decode_ms"]),
            f(&k["reference"]["detect_align_embed_ms"]),
            f(&k["probe"]["decode_ms"]),
            f(&k["probe"]["detect_ms"]),
            f(&k["probe"]["align_ms"]),
            f(&k["probe"]["embed_ms"]),
            f(&k["probe"]["passive_liveness_ms"]),
        );
        if let Some(ratio) = ratio {
            let r = &out["opencv_python_reference"];
            println!(
                "  OpenCV {} Python reference: median {:.1} ms; kiosk/reference {ratio:.2}",
                r["opencv"].as_str().unwrap_or("?"),
                f(&r["decision_ms"]["median"])
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs OpenCV's own Python pipeline (`tools/face_reference.py`:
/// `FaceDetectorYN` + `FaceRecognizerSF`, OpenCV 4.8+) on the same images.
fn python_reference(
    python: &Path,
    config: &Config,
    reference_path: &Path,
    probe_path: &Path,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/face_reference.py");
    let models = config
        .face
        .effective_model_dir()
        .context("no model folder")?;
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg("--models")
        .arg(&models)
        .arg("--reference")
        .arg(reference_path)
        .arg("--probe")
        .arg(probe_path)
        .arg("--runs")
        .arg(runs.to_string())
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "the Python reference failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("the Python reference printed no JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_files_resolve_paths_and_refuse_bad_lines() {
        let text = "# comment\n a.jpg b.jpg same\n\nc.png d.png different # trailing\n";
        let pairs = parse_pairs(text, Path::new("/data")).unwrap();
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].reference, Path::new("/data/a.jpg"));
        assert!(pairs[0].same && !pairs[1].same);
        assert!(parse_pairs("a b maybe\n", Path::new(".")).is_err());
        assert!(parse_pairs("a b\n", Path::new(".")).is_err());
        assert!(parse_pairs("# nothing\n", Path::new(".")).is_err());
    }

    #[test]
    fn error_rates_and_the_fmr_threshold() {
        let genuine = [0.9, 0.8, 0.5];
        let impostor = [0.1, 0.2, 0.3, 0.6];
        assert_eq!(rates(&genuine, &impostor, 0.55), (0.25, 1.0 / 3.0));
        // With 4 impostors, FMR 1e-3 allows none: just above the highest.
        let t = threshold_for_fmr(&impostor, 1e-3).unwrap();
        assert!(t > 0.6 && t < 0.6001);
        assert_eq!(rates(&genuine, &impostor, t).0, 0.0);
        // FMR 0.25 allows one: just above the second highest.
        let t = threshold_for_fmr(&impostor, 0.25).unwrap();
        assert!(t > 0.3 && t < 0.3001);
        assert_eq!(threshold_for_fmr(&[], 1e-3), None);
    }
}
