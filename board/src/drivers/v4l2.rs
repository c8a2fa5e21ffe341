//! USB (UVC) and CSI cameras on Linux through OpenCV's `videoio` with its
//! V4L2 backend (feature `face`).
//!
//! A camera is named by its device node (`/dev/video0`, or a stable
//! `/dev/v4l/by-id/...` link) and asked for a resolution; V4L2 may give
//! another, and [`Camera::start`] reports what it gave. Frames arrive as
//! 8-bit BGR (OpenCV converts from MJPEG or YUYV), are copied into the
//! caller's reused buffer and never kept anywhere else.
//!
//! Error mapping ([`V4l2Error::kind`]):
//!
//! | situation | kind |
//! | --- | --- |
//! | the device node does not exist | `NotPresent` |
//! | the node exists but cannot be opened (held by another process) | `Busy` |
//! | a read delivers no frame | `Timeout` |
//! | capture before start | `Other` |
//! | an OpenCV error | `Io` |

use kiosk_hal::camera::{Camera, Frame, FrameFormat, PixelFormat};
use kiosk_hal::{ErrorKind, ErrorType};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};
use std::fmt;
use std::path::{Path, PathBuf};

/// A camera error, with what was being done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4l2Error {
    kind: ErrorKind,
    /// What failed and why.
    pub message: String,
}

impl V4l2Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> V4l2Error {
        V4l2Error {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for V4l2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "camera: {}", self.message)
    }
}

impl std::error::Error for V4l2Error {}

impl kiosk_hal::Error for V4l2Error {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

fn cv(e: opencv::Error) -> V4l2Error {
    V4l2Error::new(ErrorKind::Io, e.to_string())
}

/// A V4L2 camera.
pub struct V4l2Camera {
    device: PathBuf,
    width: u32,
    height: u32,
    capture: Option<VideoCapture>,
    mat: Mat,
    sequence: u64,
}

impl fmt::Debug for V4l2Camera {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("V4l2Camera")
            .field("device", &self.device)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("started", &self.capture.is_some())
            .finish_non_exhaustive()
    }
}

impl V4l2Camera {
    /// A camera at `device`, asked for `width`×`height`. Nothing is opened
    /// until [`Camera::start`].
    pub fn new(device: &Path, width: u32, height: u32) -> V4l2Camera {
        V4l2Camera {
            device: device.to_path_buf(),
            width,
            height,
            capture: None,
            mat: Mat::default(),
            sequence: 0,
        }
    }
}

impl ErrorType for V4l2Camera {
    type Error = V4l2Error;
}

impl Camera for V4l2Camera {
    fn start(&mut self) -> Result<FrameFormat, V4l2Error> {
        self.capture = None;
        if !self.device.exists() {
            return Err(V4l2Error::new(
                ErrorKind::NotPresent,
                format!("{} does not exist", self.device.display()),
            ));
        }
        let mut cap = VideoCapture::from_file(&self.device, videoio::CAP_V4L2).map_err(cv)?;
        if !cap.is_opened().map_err(cv)? {
            return Err(V4l2Error::new(
                ErrorKind::Busy,
                format!(
                    "{} cannot be opened (another process may hold it)",
                    self.device.display()
                ),
            ));
        }
        cap.set(videoio::CAP_PROP_FRAME_WIDTH, f64::from(self.width))
            .map_err(cv)?;
        cap.set(videoio::CAP_PROP_FRAME_HEIGHT, f64::from(self.height))
            .map_err(cv)?;
        let width = cap.get(videoio::CAP_PROP_FRAME_WIDTH).map_err(cv)? as u32;
        let height = cap.get(videoio::CAP_PROP_FRAME_HEIGHT).map_err(cv)? as u32;
        self.capture = Some(cap);
        self.sequence = 0;
        Ok(FrameFormat {
            width,
            height,
            pixel_format: PixelFormat::Bgr8,
        })
    }

    fn capture(&mut self, frame: &mut Frame) -> Result<(), V4l2Error> {
        let cap = self
            .capture
            .as_mut()
            .ok_or_else(|| V4l2Error::new(ErrorKind::Other, "capture before start"))?;
        if !cap.read(&mut self.mat).map_err(cv)? || self.mat.empty() {
            return Err(V4l2Error::new(
                ErrorKind::Timeout,
                "no frame from the camera",
            ));
        }
        if self.mat.typ() != opencv::core::CV_8UC3 || !self.mat.is_continuous() {
            return Err(V4l2Error::new(
                ErrorKind::Io,
                format!("unexpected frame type {}", self.mat.typ()),
            ));
        }
        let bytes = self.mat.data_bytes().map_err(cv)?;
        frame.width = self.mat.cols() as u32;
        frame.height = self.mat.rows() as u32;
        frame.pixel_format = Some(PixelFormat::Bgr8);
        frame.sequence = self.sequence;
        frame.data.clear();
        frame.data.extend_from_slice(bytes);
        self.sequence += 1;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), V4l2Error> {
        if let Some(mut cap) = self.capture.take() {
            cap.release().map_err(cv)?;
        }
        // The last frame was a face: do not keep it.
        self.mat = Mat::default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_hal::Error as _;

    #[test]
    fn a_missing_device_is_not_present_and_capture_before_start_is_refused() {
        let mut cam = V4l2Camera::new(Path::new("/dev/video-kiosk-test-none"), 640, 480);
        let mut frame = Frame::default();
        assert_eq!(
            cam.capture(&mut frame).unwrap_err().kind(),
            ErrorKind::Other
        );
        let e = cam.start().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotPresent);
        assert!(e.to_string().contains("/dev/video-kiosk-test-none"));
        assert!(cam.stop().is_ok(), "stop is idempotent");
    }

    #[test]
    fn a_node_that_is_no_camera_cannot_start() {
        // /dev/null exists but is no V4L2 device.
        let mut cam = V4l2Camera::new(Path::new("/dev/null"), 640, 480);
        let e = cam.start().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Busy | ErrorKind::Io), "{e}");
    }
}
