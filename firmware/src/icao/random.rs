//! Random bytes for the protocol machines, from a seed the caller provides
//! (the runtime seeds it from the operating system; tests from a constant):
//! the machines never reach for a random source of their own.
//!
//! A counter-mode hash DRBG: block i = SHA-256(seed ‖ i). With a 256-bit
//! seed from the OS it is unpredictable; with a fixed seed it is
//! reproducible, which the tests and the virtual chip rely on.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Deterministic random bytes from a seed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Drbg {
    seed: [u8; 32],
    counter: u64,
}

impl core::fmt::Debug for Drbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Drbg(..)")
    }
}

impl Drbg {
    /// From a 32-byte seed.
    pub fn new(seed: [u8; 32]) -> Self {
        Drbg { seed, counter: 0 }
    }

    /// Fills `out`.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.counter.to_be_bytes());
            self.counter = self.counter.wrapping_add(1);
            let block = h.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// A valid private key for `curve`, as many bytes as its scalars
    /// (rejection sampling over the order's bit length).
    pub fn private_key(&mut self, curve: super::pace::Curve) -> zeroize::Zeroizing<Vec<u8>> {
        let len = curve.scalar_len();
        let excess = len * 8 - curve.order_bits();
        loop {
            let mut k = zeroize::Zeroizing::new(vec![0u8; len]);
            self.fill(&mut k);
            if let Some(top) = k.first_mut() {
                *top &= 0xFF >> excess;
            }
            if curve.public_key(&k).is_ok() {
                return k;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_bytes_do_not_repeat() {
        let mut a = Drbg::new([7; 32]);
        let mut b = Drbg::new([7; 32]);
        let x: [u8; 40] = a.bytes();
        assert_eq!(x, b.bytes::<40>());
        assert_ne!(&x[..8], &x[32..40]);
        assert_ne!(a.bytes::<8>(), Drbg::new([8; 32]).bytes::<8>());
        for curve in super::super::pace::Curve::ALL {
            let k = a.private_key(curve);
            assert_eq!(k.len(), curve.scalar_len(), "{curve:?}");
            assert!(curve.public_key(&k).is_ok(), "{curve:?}");
        }
    }
}
