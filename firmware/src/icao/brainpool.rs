//! brainpoolP192r1, brainpoolP224r1, brainpoolP320r1 and brainpoolP512r1
//! (RFC 5639 §3.2, §3.3, §3.5, §3.7; ICAO 9303-11 §9.5.1 standardized
//! domain parameters 9, 11, 14 and 17), for PACE, chip authentication and the ECDSA checks of passive
//! and active authentication.
//!
//! No RustCrypto crate publishes these curves. This module writes no curve or field arithmetic: the [`brainpool_curve`]
//! macro hands each curve's constants to RustCrypto's generic
//! implementations — `primefield`'s Montgomery-form prime fields over
//! `crypto-bigint` for the base and scalar fields, `primeorder`'s complete
//! projective formulas for the group — and `ecdsa` runs on them as on any
//! other curve. brainpoolP224r1 and brainpoolP320r1 keep their 28- and
//! 40-byte elements in 256- and 384-bit integers (as RustCrypto's `p224`
//! does on 64-bit targets; crypto-bigint encodes no 320-bit array), so
//! their scalar reduction is the one `p224` writes over `elliptic_curve`'s
//! helpers.
//!
//! The constants were printed by `openssl ecparam -name brainpoolP…r1
//! -param_enc explicit -text -noout` and agree with RFC 5639; the tests
//! check that G is on each curve and has order n, and that a point off
//! the curve is refused. The multiplicative generators given to
//! `primefield` are the smallest quadratic non-residues (Euler's
//! criterion), which its square roots need.

/// Builds the module of one brainpool curve: `$curve` over fields of
/// `$uint` with `$bytes` (a typenum) bytes per element.
macro_rules! brainpool_curve {
    (
        module: $module:ident,
        curve: $curve:ident,
        name: $name:literal,
        uint: $uint:ty,
        bytes: $bytes:ty,
        modulus: $modulus:literal,
        order: $order:literal,
        field_generator: $fgen:literal,
        scalar_generator: $sgen:literal,
        a: $a:literal,
        b: $b:literal,
        gx: $gx:literal,
        gy: $gy:literal,
        digest: $digest:ty,
        reduce: $reduce:ident $(,)?
    ) => {
        #[doc = concat!("The ", $name, " curve (RFC 5639) on RustCrypto's generic arithmetic.")]
        pub mod $module {
            use elliptic_curve::bigint::Odd;
            use elliptic_curve::{CurveArithmetic, PrimeCurveArithmetic, hazmat::FieldArithmetic};
            use primeorder::{PrimeCurveParams, mul_backend, point_arithmetic};

            type Uint = $uint;
            /// The field modulus p (hex, as wide as the integer type).
            const MODULUS_HEX: &str = $modulus;
            /// The group order n (hex, as wide as the integer type).
            const ORDER_HEX: &str = $order;
            const ORDER: Odd<Uint> = Odd::<Uint>::from_be_hex(ORDER_HEX);

            #[doc = concat!($name, ": a verifiably pseudo-random curve (RFC 5639).")]
            #[derive(Copy, Clone, Debug, Default, Eq, PartialEq, PartialOrd, Ord)]
            pub struct $curve;

            impl elliptic_curve::Curve for $curve {
                type FieldBytesSize = $bytes;
                type Uint = Uint;
                const ORDER: Odd<Uint> = ORDER;
            }

            impl elliptic_curve::PrimeCurve for $curve {}

            impl elliptic_curve::point::PointCompression for $curve {
                const COMPRESS_POINTS: bool = false;
            }

            impl ::ecdsa::EcdsaCurve for $curve {
                const NORMALIZE_S: bool = false;
            }

            /// RFC 6979 nonces (the test kit chip signs on this curve).
            impl ::ecdsa::DigestAlgorithm for $curve {
                type Digest = $digest;
            }

            /// The base field (integers modulo p).
            // primefield 0.14's macros call crypto-bigint's deprecated
            // `Uint::bits`; the expansion is theirs.
            #[allow(deprecated)]
            mod field {
                use super::{MODULUS_HEX, Uint};
                use elliptic_curve::ff::PrimeField;
                use elliptic_curve::ops::BatchInvert;
                use elliptic_curve::subtle::{Choice, ConstantTimeEq, CtOption};

                primefield::monty_field_params! {
                    name: FieldParams,
                    modulus: MODULUS_HEX,
                    uint: Uint,
                    byte_order: primefield::ByteOrder::BigEndian,
                    multiplicative_generator: $fgen,
                    doc: "Montgomery parameters for the field modulus p."
                }

                primefield::monty_field_element! {
                    name: FieldElement,
                    params: FieldParams,
                    uint: Uint,
                    doc: "An element of the base field (integers modulo p)."
                }

                primefield::monty_field_arithmetic! {
                    name: FieldElement,
                    params: FieldParams,
                    uint: Uint
                }

                impl BatchInvert for FieldElement {}
            }

            /// The scalar field (integers modulo n).
            #[allow(deprecated)]
            mod scalar {
                use super::{ORDER, ORDER_HEX, Uint, $curve};
                use elliptic_curve::ff::PrimeField;
                use elliptic_curve::scalar::{FromUintUnchecked, IsHigh};
                use elliptic_curve::subtle::{
                    Choice, ConstantTimeEq, ConstantTimeGreater, CtOption,
                };
                use primeorder::wnaf;

                primefield::monty_field_params! {
                    name: ScalarParams,
                    modulus: ORDER_HEX,
                    uint: Uint,
                    byte_order: primefield::ByteOrder::BigEndian,
                    multiplicative_generator: $sgen,
                    doc: "Montgomery parameters for the group order n."
                }

                primefield::monty_field_element! {
                    name: Scalar,
                    params: ScalarParams,
                    uint: Uint,
                    doc: "An element of the scalar field (integers modulo n)."
                }

                primefield::monty_field_arithmetic! {
                    name: Scalar,
                    params: ScalarParams,
                    uint: Uint
                }

                brainpool_reduce!($reduce, $curve, Scalar, ScalarParams, Uint);

                elliptic_curve::scalar_impls!($curve, Scalar);

                wnaf::impl_wnaf_size_for_scalar!(Scalar);

                impl AsRef<Scalar> for Scalar {
                    fn as_ref(&self) -> &Scalar {
                        self
                    }
                }

                impl FromUintUnchecked for Scalar {
                    type Uint = Uint;

                    fn from_uint_unchecked(uint: Self::Uint) -> Self {
                        Self::from_uint_unchecked(uint)
                    }
                }

                impl IsHigh for Scalar {
                    fn is_high(&self) -> Choice {
                        const HALF_ORDER: Uint = ORDER.as_ref().shr_vartime(1);
                        self.to_canonical().ct_gt(&HALF_ORDER)
                    }
                }
            }

            pub use field::FieldElement;
            pub use scalar::Scalar;

            /// A point in affine coordinates.
            pub type AffinePoint = primeorder::AffinePoint<$curve>;

            /// A point in projective coordinates.
            pub type ProjectivePoint = primeorder::ProjectivePoint<$curve>;

            impl CurveArithmetic for $curve {
                type AffinePoint = AffinePoint;
                type ProjectivePoint = ProjectivePoint;
                type Scalar = Scalar;
            }

            impl FieldArithmetic for $curve {
                type FieldElement = FieldElement;
            }

            impl PrimeCurveArithmetic for $curve {
                type CurveGroup = ProjectivePoint;
            }

            impl PrimeCurveParams for $curve {
                type PointArithmetic = point_arithmetic::EquationAIsGeneric;
                type Backend = mul_backend::VariableOnly;

                const EQUATION_A: FieldElement = FieldElement::from_hex_vartime($a);
                const EQUATION_B: FieldElement = FieldElement::from_hex_vartime($b);
                const GENERATOR: (FieldElement, FieldElement) = (
                    FieldElement::from_hex_vartime($gx),
                    FieldElement::from_hex_vartime($gy),
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
                        &Sec1Point::<$curve>::from_bytes(encoded.as_bytes()).unwrap(),
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
                    let encoded = Sec1Point::<$curve>::from_bytes(&bytes).unwrap();
                    assert!(
                        Option::<AffinePoint>::from(AffinePoint::from_sec1_point(&encoded))
                            .is_none()
                    );
                }

                #[test]
                fn ecdsa_signs_and_verifies() {
                    use ::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
                    let mut secret = elliptic_curve::FieldBytes::<$curve>::default();
                    secret[3] = 7;
                    let key = ::ecdsa::SigningKey::<$curve>::from_slice(&secret).unwrap();
                    let digest = [0x5A; 32];
                    let sig: ::ecdsa::Signature<$curve> = key.sign_prehash(&digest).unwrap();
                    let public = key.verifying_key();
                    assert!(public.verify_prehash(&digest, &sig).is_ok());
                    assert!(public.verify_prehash(&[0xA5; 32], &sig).is_err());
                }
            }
        }
    };
}

/// The scalar's reductions: primefield's when the integer is exactly as
/// wide as the elements (`monty`), else `p224`'s construction over the
/// wider integer (`wide`).
macro_rules! brainpool_reduce {
    (monty, $curve:ident, $scalar:ident, $params:ident, $uint:ident) => {
        primefield::monty_field_reduce! {
            name: $scalar,
            params: $params,
            uint: $uint,
        }
    };
    (wide, $curve:ident, $scalar:ident, $params:ident, $uint:ident) => {
        impl elliptic_curve::ops::Reduce<$uint> for $scalar {
            fn reduce(w: &$uint) -> Self {
                use elliptic_curve::Curve as _;
                use elliptic_curve::bigint::Limb;
                use elliptic_curve::subtle::ConditionallySelectable;
                // w < 2^(8·field bytes) < 2n (n's top bit is set): one
                // conditional subtraction.
                let (r, underflow) = w.borrowing_sub(&$curve::ORDER, Limb::ZERO);
                let underflow = Choice::from((underflow.0 >> (Limb::BITS - 1)) as u8);
                Self::from_uint_unchecked($uint::conditional_select(w, &r, !underflow))
            }
        }

        impl elliptic_curve::ops::Reduce<elliptic_curve::FieldBytes<$curve>> for $scalar {
            fn reduce(bytes: &elliptic_curve::FieldBytes<$curve>) -> Self {
                <Self as elliptic_curve::ops::Reduce<$uint>>::reduce(
                    &elliptic_curve::field::bytes_to_uint::<$curve>(bytes),
                )
            }
        }
    };
}

brainpool_curve! {
    module: bp192,
    curve: BrainpoolP192r1,
    name: "brainpoolP192r1",
    uint: elliptic_curve::bigint::U192,
    bytes: elliptic_curve::consts::U24,
    modulus: "c302f41d932a36cda7a3463093d18db78fce476de1a86297",
    order: "c302f41d932a36cda7a3462f9e9e916b5be8f1029ac4acc1",
    field_generator: 3,
    scalar_generator: 7,
    a: "6a91174076b1e0e19c39c031fe8685c1cae040e5c69a28ef",
    b: "469a28ef7c28cca3dc721d044f4496bcca7ef4146fbf25c9",
    gx: "c0a0647eaab6a48753b033c56cb0f0900a2f5c4853375fd6",
    gy: "14b690866abd5bb88b5f4828c1490002e6773fa2fa299b8f",
    digest: sha2::Sha256,
    reduce: monty,
}

brainpool_curve! {
    module: bp224,
    curve: BrainpoolP224r1,
    name: "brainpoolP224r1",
    uint: elliptic_curve::bigint::U256,
    bytes: elliptic_curve::consts::U28,
    modulus: "00000000d7c134aa264366862a18302575d1d787b09f075797da89f57ec8c0ff",
    order: "00000000d7c134aa264366862a18302575d0fb98d116bc4b6ddebca3a5a7939f",
    field_generator: 3,
    scalar_generator: 3,
    a: "68a5e62ca9ce6c1c299803a6c1530b514e182ad8b0042a59cad29f43",
    b: "2580f63ccfe44138870713b1a92369e33e2135d266dbb372386c400b",
    gx: "0d9029ad2c7e5cf4340823b2a87dc68c9e4ce3174c1e6efdee12c07d",
    gy: "58aa56f772c0726f24c6b89e4ecdac24354b9e99caa3f6d3761402cd",
    digest: sha2::Sha256,
    reduce: wide,
}

brainpool_curve! {
    module: bp320,
    curve: BrainpoolP320r1,
    name: "brainpoolP320r1",
    uint: elliptic_curve::bigint::U384,
    bytes: elliptic_curve::consts::U40,
    modulus: "0000000000000000d35e472036bc4fb7e13c785ed201e065f98fcfa6f6f40def4f92b9ec7893ec28fcd412b1f1b32e27",
    order: "0000000000000000d35e472036bc4fb7e13c785ed201e065f98fcfa5b68f12a32d482ec7ee8658e98691555b44c59311",
    field_generator: 5,
    scalar_generator: 3,
    a: "3ee30b568fbab0f883ccebd46d3f3bb8a2a73513f5eb79da66190eb085ffa9f492f375a97d860eb4",
    b: "520883949dfdbc42d3ad198640688a6fe13f41349554b49acc31dccd884539816f5eb4ac8fb1f1a6",
    gx: "43bd7e9afb53d8b85289bcc48ee5bfe6f20137d10a087eb6e7871e2a10a599c710af8d0d39e20611",
    gy: "14fdd05545ec1cc8ab4093247f77275e0743ffed117182eaa9c77877aaac6ac7d35245d1692e8ee1",
    digest: sha2::Sha384,
    reduce: wide,
}

brainpool_curve! {
    module: bp512,
    curve: BrainpoolP512r1,
    name: "brainpoolP512r1",
    uint: elliptic_curve::bigint::U512,
    bytes: elliptic_curve::consts::U64,
    modulus: "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3",
    order: "aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca70330870553e5c414ca92619418661197fac10471db1d381085ddaddb58796829ca90069",
    field_generator: 2,
    scalar_generator: 7,
    a: "7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca",
    b: "3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723",
    gx: "81aee4bdd82ed9645a21322e9c4c6a9385ed9f70b5d916c1b43b62eef4d0098eff3b1f78e2d0d48d50d1687b93b97d5f7c6d5047406a5e688b352209bcb9f822",
    gy: "7dde385d566332ecc0eabfa9cf7822fdf209f70024a57b1aa000c55b881f8111b2dcde494a5f485e5bca4bd88a2763aed1ca2b2fa8f0540678cd1e0f3ad80892",
    digest: sha2::Sha512,
    reduce: monty,
}
