//! The face camera: a source of uncompressed frames.
//!
//! Frames are never written anywhere by the firmware (privacy rule: no face
//! image leaves memory); a camera implementation must not keep copies either.

use crate::ErrorType;

/// How the pixels of a [`Frame`] are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// 8-bit blue, green, red, row-major, no padding (OpenCV's `CV_8UC3`).
    Bgr8,
    /// 8-bit luminance, row-major, no padding.
    Gray8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Bgr8 => 3,
            PixelFormat::Gray8 => 1,
        }
    }
}

/// The format a started camera delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFormat {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout.
    pub pixel_format: PixelFormat,
}

impl FrameFormat {
    /// The number of bytes one frame of this format occupies.
    pub fn frame_len(&self) -> usize {
        self.width as usize * self.height as usize * self.pixel_format.bytes_per_pixel()
    }
}

/// One captured image. The buffer is reused between captures to avoid an
/// allocation per frame.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout; `None` before the first capture.
    pub pixel_format: Option<PixelFormat>,
    /// Capture counter since [`Camera::start`], starting at 0; a gap means
    /// frames were dropped.
    pub sequence: u64,
    /// The pixels, `width * height * bytes_per_pixel` bytes.
    pub data: Vec<u8>,
}

impl core::fmt::Debug for Frame {
    // Never print pixel data: it is a face.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("pixel_format", &self.pixel_format)
            .field("sequence", &self.sequence)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// A camera that delivers frames on request.
pub trait Camera: ErrorType {
    /// Powers the camera up and starts streaming; returns the format frames
    /// will have. Calling it while started restarts the stream.
    ///
    /// Errors: [`crate::ErrorKind::NotPresent`] when the camera is not
    /// attached, [`crate::ErrorKind::Busy`] when another process holds it.
    fn start(&mut self) -> Result<FrameFormat, Self::Error>;

    /// Captures the next frame into `frame`, replacing its content (the
    /// buffer is resized as needed). Blocks for at most about one frame
    /// interval; a camera that delivers nothing for longer reports
    /// [`crate::ErrorKind::Timeout`]. Capturing before [`Camera::start`] is an
    /// [`crate::ErrorKind::Other`] error.
    fn capture(&mut self, frame: &mut Frame) -> Result<(), Self::Error>;

    /// Stops streaming and powers the camera down (its light goes off).
    /// Idempotent.
    fn stop(&mut self) -> Result<(), Self::Error>;
}

impl<T: Camera + ?Sized> Camera for &mut T {
    fn start(&mut self) -> Result<FrameFormat, Self::Error> {
        T::start(self)
    }
    fn capture(&mut self, frame: &mut Frame) -> Result<(), Self::Error> {
        T::capture(self, frame)
    }
    fn stop(&mut self) -> Result<(), Self::Error> {
        T::stop(self)
    }
}
