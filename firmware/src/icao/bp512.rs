//! brainpoolP512r1 (RFC 5639 §3.7; ICAO 9303-11 §9.5.1 domain parameter
//! ID 17), for the ECDSA checks of passive and active authentication and
//! for PACE and chip authentication.
//!
//! No RustCrypto crate publishes this curve (`bp256` and `bp384` do the
//! smaller brainpool curves). This module writes no curve or field
//! arithmetic: it hands the curve's constants to RustCrypto's generic
//! implementations, the construction `bp384` uses with its `bigint`
//! backend — `primefield`'s Montgomery-form prime fields over
//! `crypto-bigint` for the base and scalar fields, and `primeorder`'s
//! complete projective formulas (Renes–Costello–Batina) for the group.
//! `ecdsa` then verifies and signs on it as on any other curve.
//!
//! The constants were printed by `openssl ecparam -name brainpoolP512r1
//! -param_enc explicit -text -noout` and agree with RFC 5639 §3.7; the
//! tests check that G is on the curve and has order n, and the openssl
//! fixtures (`firmware/tests/vectors/pki-algs/bp512-*`) verify through it.
//! The "multiplicative generators" given to `primefield` are the smallest
//! quadratic non-residues (2 mod p, 7 mod n, by Euler's criterion), which
//! is what its square roots need (p ≡ 3 mod 4); nothing here takes square
//! roots (points travel uncompressed).

use elliptic_curve::bigint::{Odd, U512};
use elliptic_curve::consts::U64;
use elliptic_curve::{CurveArithmetic, PrimeCurveArithmetic, hazmat::FieldArithmetic};
use primeorder::{PrimeCurveParams, mul_backend, point_arithmetic};

/// The field modulus p.
const MODULUS_HEX: &str = "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3";
/// The group order n.
const ORDER_HEX: &str = "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069";
const ORDER: Odd<U512> = Odd::<U512>::from_be_hex(ORDER_HEX);

/// brainpoolP512r1: the verifiably pseudo-random curve over a 512-bit
/// prime field (RFC 5639 §3.7).
#[derive(Copy, Clone, Debug, Default, Eq, PartialEq, PartialOrd, Ord)]
pub struct BrainpoolP512r1;

impl elliptic_curve::Curve for BrainpoolP512r1 {
    type FieldBytesSize = U64;
    type Uint = U512;
    const ORDER: Odd<U512> = ORDER;
}

impl elliptic_curve::PrimeCurve for BrainpoolP512r1 {}

impl elliptic_curve::point::PointCompression for BrainpoolP512r1 {
    const COMPRESS_POINTS: bool = false;
}

impl ::ecdsa::EcdsaCurve for BrainpoolP512r1 {
    const NORMALIZE_S: bool = false;
}

/// RFC 6979 nonces with SHA-512 (the test kit chip signs on this curve).
impl ::ecdsa::DigestAlgorithm for BrainpoolP512r1 {
    type Digest = sha2::Sha512;
}

/// The base field (integers modulo p).
// primefield 0.14's `monty_field_params!` calls crypto-bigint's deprecated
// `Uint::bits`; the expansion is theirs.
#[allow(deprecated)]
mod field {
    use super::{MODULUS_HEX, U512};
    use elliptic_curve::ff::PrimeField;
    use elliptic_curve::ops::BatchInvert;
    use elliptic_curve::subtle::{Choice, ConstantTimeEq, CtOption};

    primefield::monty_field_params! {
        name: FieldParams,
        modulus: MODULUS_HEX,
        uint: U512,
        byte_order: primefield::ByteOrder::BigEndian,
        multiplicative_generator: 2,
        doc: "Montgomery parameters for brainpoolP512r1's field modulus p."
    }

    primefield::monty_field_element! {
        name: FieldElement,
        params: FieldParams,
        uint: U512,
        doc: "An element of brainpoolP512r1's base field (integers modulo p)."
    }

    primefield::monty_field_arithmetic! {
        name: FieldElement,
        params: FieldParams,
        uint: U512
    }

    impl BatchInvert for FieldElement {}
}

/// The scalar field (integers modulo n).
// As for `field`: the macro's expansion uses a deprecated name.
#[allow(deprecated)]
mod scalar {
    use super::{BrainpoolP512r1, ORDER, ORDER_HEX, U512};
    use elliptic_curve::ff::PrimeField;
    use elliptic_curve::scalar::{FromUintUnchecked, IsHigh};
    use elliptic_curve::subtle::{Choice, ConstantTimeEq, ConstantTimeGreater, CtOption};
    use primeorder::wnaf;

    primefield::monty_field_params! {
        name: ScalarParams,
        modulus: ORDER_HEX,
        uint: U512,
        byte_order: primefield::ByteOrder::BigEndian,
        multiplicative_generator: 7,
        doc: "Montgomery parameters for brainpoolP512r1's group order n."
    }

    primefield::monty_field_element! {
        name: Scalar,
        params: ScalarParams,
        uint: U512,
        doc: "An element of brainpoolP512r1's scalar field (integers modulo n)."
    }

    primefield::monty_field_arithmetic! {
        name: Scalar,
        params: ScalarParams,
        uint: U512
    }

    primefield::monty_field_reduce! {
        name: Scalar,
        params: ScalarParams,
        uint: U512,
    }

    elliptic_curve::scalar_impls!(BrainpoolP512r1, Scalar);

    wnaf::impl_wnaf_size_for_scalar!(Scalar);

    impl AsRef<Scalar> for Scalar {
        fn as_ref(&self) -> &Scalar {
            self
        }
    }

    impl FromUintUnchecked for Scalar {
        type Uint = U512;

        fn from_uint_unchecked(uint: Self::Uint) -> Self {
            Self::from_uint_unchecked(uint)
        }
    }

    impl IsHigh for Scalar {
        fn is_high(&self) -> Choice {
            const HALF_ORDER: U512 = ORDER.as_ref().shr_vartime(1);
            self.to_canonical().ct_gt(&HALF_ORDER)
        }
    }
}

pub use field::FieldElement;
pub use scalar::Scalar;

/// A point in affine coordinates.
pub type AffinePoint = primeorder::AffinePoint<BrainpoolP512r1>;

/// A point in projective coordinates.
pub type ProjectivePoint = primeorder::ProjectivePoint<BrainpoolP512r1>;

impl CurveArithmetic for BrainpoolP512r1 {
    type AffinePoint = AffinePoint;
    type ProjectivePoint = ProjectivePoint;
    type Scalar = Scalar;
}

impl FieldArithmetic for BrainpoolP512r1 {
    type FieldElement = FieldElement;
}

impl PrimeCurveArithmetic for BrainpoolP512r1 {
    type CurveGroup = ProjectivePoint;
}

impl PrimeCurveParams for BrainpoolP512r1 {
    type PointArithmetic = point_arithmetic::EquationAIsGeneric;
    type Backend = mul_backend::VariableOnly;

    const EQUATION_A: FieldElement = FieldElement::from_hex_vartime(
        "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca",
    );
    const EQUATION_B: FieldElement = FieldElement::from_hex_vartime(
        "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723",
    );
    const GENERATOR: (FieldElement, FieldElement) = (
        FieldElement::from_hex_vartime(
            "81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f822",
        ),
        FieldElement::from_hex_vartime(
            "7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use elliptic_curve::Group;
    use elliptic_curve::sec1::{FromSec1Point, Sec1Point, ToSec1Point};

    #[test]
    fn the_generator_is_on_the_curve_and_has_order_n() {
        let g = ProjectivePoint::generator();
        let affine: AffinePoint = g.into();
        let encoded = affine.to_sec1_point(false);
        // Decoding checks y² = x³ + ax + b.
        let decoded = Option::<AffinePoint>::from(AffinePoint::from_sec1_point(
            &Sec1Point::<BrainpoolP512r1>::from_bytes(encoded.as_bytes()).unwrap(),
        ));
        assert_eq!(decoded, Some(affine));
        // n·G = O: (n − 1)·G = −G.
        let n_minus_1 = -Scalar::ONE;
        assert_eq!(g * n_minus_1, -g);
        assert!(bool::from((g * n_minus_1 + g).is_identity()));
        assert!(!bool::from(g.is_identity()));
    }

    #[test]
    fn a_point_off_the_curve_is_refused() {
        let g: AffinePoint = ProjectivePoint::generator().into();
        let mut bytes = g.to_sec1_point(false).as_bytes().to_vec();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        let encoded = Sec1Point::<BrainpoolP512r1>::from_bytes(&bytes).unwrap();
        assert!(Option::<AffinePoint>::from(AffinePoint::from_sec1_point(&encoded)).is_none());
    }
}
