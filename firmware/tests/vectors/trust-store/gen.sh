#!/bin/sh
# Regenerates the trust-store interop fixtures with OpenSSL and Python (no
# code of this repository): a master-list issuer (RSA-2048 CSCA "YY" and its
# Master List Signer with keyUsage digitalSignature and the extended key
# usage id-icao-cscaMasterListSigningKey 2.23.136.1.1.3), a CSCA "ZZ"
# (ECDSA P-384), a CSCA master list (CMS SignedData, eContentType
# id-icao-cscaMasterList 2.23.136.1.1.2) listing the ZZ CSCA, signed by the
# Master List Signer, and a CRL of the ZZ CSCA revoking serial 0x2A.
# Run from this folder: sh gen.sh
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=9000

# The master-list issuer's CSCA (the anchor a kiosk configures).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/yy.key" -out "$tmp/yy.pem" \
  -subj "/C=YY/O=OpenSSL fixture/CN=Fixture CSCA YY" -days $days -sha256 \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl x509 -in "$tmp/yy.pem" -outform DER -out ml-anchor.der

# Its Master List Signer.
openssl req -newkey rsa:2048 -nodes -keyout "$tmp/mls.key" -out "$tmp/mls.csr" \
  -subj "/C=YY/O=OpenSSL fixture/CN=Fixture Master List Signer YY"
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=2.23.136.1.1.3\n' > "$tmp/mls.ext"
openssl x509 -req -in "$tmp/mls.csr" -CA "$tmp/yy.pem" -CAkey "$tmp/yy.key" \
  -set_serial 7 -days $days -sha256 -extfile "$tmp/mls.ext" -out "$tmp/mls.pem"

# The ZZ CSCA (ECDSA P-384).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
  -keyout "$tmp/zz.key" -out "$tmp/zz.pem" \
  -subj "/C=ZZ/O=OpenSSL fixture/CN=Fixture CSCA ZZ" -days $days -sha384 \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl x509 -in "$tmp/zz.pem" -outform DER -out csca-zz.der

# CscaMasterList ::= SEQUENCE { version INTEGER (0), certList SET OF Certificate }
python3 - "$tmp/zz.pem" "$tmp/ml-content.der" <<'PY'
import base64, sys
pem = open(sys.argv[1]).read()
cert = base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l))
def tlv(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + head + body
open(sys.argv[2], "wb").write(tlv(0x30, tlv(0x02, b"\x00") + tlv(0x31, cert)))
PY
openssl cms -sign -binary -nodetach -nosmimecap -md sha256 \
  -econtent_type 2.23.136.1.1.2 -in "$tmp/ml-content.der" \
  -signer "$tmp/mls.pem" -inkey "$tmp/mls.key" -outform DER -out master-list.ml

# A CRL of the ZZ CSCA revoking serial 0x2A.
mkdir -p "$tmp/ca"
: > "$tmp/ca/index.txt"
printf 'R\t491231000000Z\t250101000000Z\t2A\tunknown\t/CN=revoked\n' > "$tmp/ca/index.txt"
echo 01 > "$tmp/ca/crlnumber"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = zz
[zz]
database = $tmp/ca/index.txt
crlnumber = $tmp/ca/crlnumber
default_md = sha384
default_crl_days = $days
CNF
openssl ca -gencrl -config "$tmp/ca.cnf" -keyfile "$tmp/zz.key" -cert "$tmp/zz.pem" \
  -out "$tmp/zz.crl"
openssl crl -in "$tmp/zz.crl" -outform DER -out csca-zz.crl

# Independent checks of what was made.
openssl cms -verify -inform DER -in master-list.ml -CAfile "$tmp/yy.pem" \
  -purpose any -out /dev/null
openssl crl -inform DER -in csca-zz.crl -CAfile "$tmp/zz.pem" -noout
