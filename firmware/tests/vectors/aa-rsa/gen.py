#!/usr/bin/env python3
"""Active Authentication with RSA (ICAO 9303-11 §6.1, ISO/IEC 9796-2
scheme 1, partial message recovery): test vectors made independently of
the firmware.

The key comes from `openssl genrsa`; the raw RSA private-key operation is
`openssl pkeyutl -decrypt -pkeyopt rsa_padding_mode:none` (s = F^d mod n;
OpenSSL 3's `-sign` refuses inputs longer than a hash); only the 9796-2
message representative F = 6A ‖ M1 ‖ H(M1 ‖ challenge) ‖ trailer is built
here (hashlib). Run from this directory: `python3 gen.py` (rewrites
key.pem, vectors.txt). The firmware test `aa::tests::rsa_*` reads
vectors.txt.
"""
import hashlib, os, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = os.path.join(HERE, "key.pem")

def run(*args, data=None):
    return subprocess.run(args, input=data, check=True, capture_output=True).stdout

if not os.path.exists(KEY):
    run("openssl", "genrsa", "-out", KEY, "1024")
spki = run("openssl", "rsa", "-in", KEY, "-pubout", "-outform", "DER")
modulus = run("openssl", "rsa", "-in", KEY, "-noout", "-modulus").decode().strip()
n = int(modulus.split("=", 1)[1], 16)
k = (n.bit_length() + 7) // 8

def sign_raw(f: bytes) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "f.bin"), os.path.join(d, "s.bin")
        open(src, "wb").write(f)
        # The raw private-key operation (RSASP1 = RSADP). OpenSSL 3's
        # `pkeyutl -sign` refuses inputs longer than a hash, so use
        # `-decrypt` with no padding: the same s = F^d mod n.
        run("openssl", "pkeyutl", "-decrypt", "-inkey", KEY, "-pkeyopt",
            "rsa_padding_mode:none", "-in", src, "-out", dst)
        return open(dst, "rb").read()

HASHES = {"sha1": (hashlib.sha1, 0x33), "sha256": (hashlib.sha256, 0x34),
          "sha384": (hashlib.sha384, 0x36), "sha512": (hashlib.sha512, 0x35),
          "sha224": (hashlib.sha224, 0x38)}

def representative(hash_name: str, implicit: bool, challenge: bytes, seed: bytes) -> bytes:
    h, hash_id = HASHES[hash_name]
    trailer = b"\xbc" if implicit else bytes([hash_id, 0xcc])
    m1_len = k - 1 - h().digest_size - len(trailer)
    m1 = hashlib.shake_256(seed).digest(m1_len)
    digest = h(m1 + challenge).digest()
    f = b"\x6a" + m1 + digest + trailer
    assert len(f) == k
    return f

lines = [
    "# RSA Active Authentication vectors (ISO/IEC 9796-2 scheme 1), made by gen.py",
    "# with openssl " + run("openssl", "version").decode().split()[1] + "; hex.",
    "spki = " + spki.hex(),
]
cases = [
    ("sha1_bc", "sha1", True, False),
    ("sha256_34cc", "sha256", False, False),
    ("sha512_35cc", "sha512", False, False),
    # The signer gave n − σ (9796-2 allows the smaller of σ and n − σ):
    # the verifier must use n − s^e.
    ("sha256_34cc_complement", "sha256", False, True),
]
for i, (name, hash_name, implicit, complement) in enumerate(cases):
    challenge = hashlib.sha256(b"challenge" + bytes([i])).digest()[:8]
    f = representative(hash_name, implicit, challenge, name.encode())
    s = sign_raw(f)
    if complement:
        s = (n - int.from_bytes(s, "big")).to_bytes(k, "big")
    lines.append(f"{name}.challenge = {challenge.hex()}")
    lines.append(f"{name}.signature = {s.hex()}")
open(os.path.join(HERE, "vectors.txt"), "w").write("\n".join(lines) + "\n")
