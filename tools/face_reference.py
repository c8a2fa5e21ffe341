#!/usr/bin/env python3
"""OpenCV's own face pipeline, for `kioskctl bench face --python`.

The same decision the kiosk makes (a reference photo and a probe, two faces),
done the way OpenCV's samples do it: cv2.FaceDetectorYN (which needs OpenCV
4.8+ for YuNet 2023mar) and cv2.FaceRecognizerSF (alignCrop, feature, cosine).
Images are letterboxed into the detector's fixed 640x640 input exactly as the
kiosk does. Prints one JSON object with median stage times; writes nothing.

Run it with a Python that has OpenCV 4.8+ (`cargo xtask face-reference`
makes one in .cache/face-ref-venv from PyPI's opencv-python-headless).
"""

import argparse
import json
import os
import statistics
import time

import cv2
import numpy as np

SIDE = 640


def letterbox(img):
    h, w = img.shape[:2]
    scale = min(SIDE / w, SIDE / h, 1.0)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    padded = cv2.copyMakeBorder(small, 0, SIDE - sh, 0, SIDE - sw, cv2.BORDER_CONSTANT, value=0)
    return padded, scale


def detect(detector, img):
    padded, scale = letterbox(img)
    _, faces = detector.detect(padded)
    if faces is None or len(faces) == 0:
        return None
    face = max(faces, key=lambda f: f[2] * f[3]).copy()
    face[:14] /= scale
    return face


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    detector = cv2.FaceDetectorYN.create(
        os.path.join(a.models, "face_detection_yunet_2023mar.onnx"), "", (SIDE, SIDE), 0.6, 0.3, 50
    )
    recognizer = cv2.FaceRecognizerSF.create(
        os.path.join(a.models, "face_recognition_sface_2021dec.onnx"), ""
    )
    ref_bytes = np.fromfile(a.reference, dtype=np.uint8)
    probe_bytes = np.fromfile(a.probe, dtype=np.uint8)

    def decision():
        t = {}
        t0 = time.perf_counter()
        ref = cv2.imdecode(ref_bytes, cv2.IMREAD_COLOR)
        probe = cv2.imdecode(probe_bytes, cv2.IMREAD_COLOR)
        t["decode_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        border = max(ref.shape[:2]) // 4
        framed = cv2.copyMakeBorder(ref, border, border, border, border, cv2.BORDER_REPLICATE)
        rf = detect(detector, framed)
        pf = detect(detector, probe)
        t["detect_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        ra = recognizer.alignCrop(framed, rf)
        pa = recognizer.alignCrop(probe, pf)
        t["align_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        re = recognizer.feature(ra).copy()
        pe = recognizer.feature(pa).copy()
        t["embed_ms"] = (time.perf_counter() - t0) * 1000
        score = recognizer.match(re, pe, cv2.FaceRecognizerSF_FR_COSINE)
        return t, score

    decision()  # warm-up
    runs = []
    score = 0.0
    for _ in range(max(1, a.runs)):
        t0 = time.perf_counter()
        t, score = decision()
        t["decision_ms"] = (time.perf_counter() - t0) * 1000
        runs.append(t)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(json.dumps({
        "opencv": cv2.__version__,
        "decision_ms": {"median": med.pop("decision_ms"),
                        "p95": sorted(r["decision_ms"] for r in runs)[int(0.95 * (len(runs) - 1))]},
        "stages_ms": med,
        "score": float(score),
        "passive_liveness": "not run (OpenCV has no MiniFASNet pipeline)",
    }))


if __name__ == "__main__":
    main()
