#!/bin/sh
# Makes the passive-authentication fixtures of every signature algorithm
# ICAO 9303-12 allows, with the openssl CLI only (independent of the
# firmware's RustCrypto code). Run from anywhere: `sh make.sh`.
#
# Per algorithm, a directory NAME/ with:
#   csca.der      a self-signed CSCA (keyCertSign, cRLSign; CA, pathlen 0)
#                 signed with the algorithm;
#   sod.der       a CMS SignedData (eContentType id-icao-mrtd-security-
#                 ldsSecurityObject 2.23.136.1.1.1, signed attributes,
#                 the DS certificate inside) over an LDS Security Object
#                 that hashes ../dg1.bin and ../dg2.bin with the
#                 algorithm's hash; the DS certificate (digitalSignature)
#                 is signed by the CSCA, the SOD by the DS, both with the
#                 algorithm. EF.SOD is this wrapped in tag 77 (the tests
#                 wrap it);
#   impostor.der  a self-signed CSCA with the same subject name as
#                 csca.der and another key (a forged anchor).
# Certificates are valid for 36500 days from the day they are made; the
# tests check them at a fixed time in 2030.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Two sample data groups (no personal data: ICAO's specimen-like fillers).
printf '\141\011\137\037\006SPECIM' > dg1.bin
printf '\165\012SAMPLEDATA' > dg2.bin

cat > "$tmp/csca.ext" <<'EOF'
[v3]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat > "$tmp/ds.ext" <<'EOF'
[v3]
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# key NAME KIND: a private key (KIND: rsa, rsa-pss or an EC curve name).
key() {
    case "$2" in
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    rsa-pss) openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    *) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$2" \
        -pkeyopt ec_param_enc:named_curve -out "$1" ;;
    esac
}

# case NAME KIND HASH PADDING (PADDING: pkcs1, pss or ecdsa).
case_() {
    name=$1 kind=$2 md=$3 padding=$4
    mkdir -p "$name"
    sig=""
    cms=""
    if [ "$padding" = pss ]; then
        sig="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:$md"
        cms="-keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:digest -keyopt rsa_mgf1_md:$md"
    fi
    subject="/C=ZZ/O=PKI fixtures/CN=CSCA $name"
    key "$tmp/csca.key" "$kind"
    key "$tmp/ds.key" "$kind"
    key "$tmp/impostor.key" "$kind"
    # shellcheck disable=SC2086
    openssl req -x509 -new -key "$tmp/csca.key" -subj "$subject" -days 36500 \
        -"$md" $sig -set_serial 1 -config "$tmp/csca.ext" -extensions v3 \
        -out "$tmp/csca.pem" 2>/dev/null
    # shellcheck disable=SC2086
    openssl req -x509 -new -key "$tmp/impostor.key" -subj "$subject" -days 36500 \
        -"$md" $sig -set_serial 1 -config "$tmp/csca.ext" -extensions v3 \
        -outform DER -out "$name/impostor.der" 2>/dev/null
    openssl req -new -key "$tmp/ds.key" -subj "/C=ZZ/O=PKI fixtures/CN=DS $name" \
        -config "$tmp/csca.ext" -out "$tmp/ds.csr" 2>/dev/null
    # shellcheck disable=SC2086
    openssl x509 -req -in "$tmp/ds.csr" -CA "$tmp/csca.pem" -CAkey "$tmp/csca.key" \
        -set_serial 2 -days 36500 -"$md" $sig -extfile "$tmp/ds.ext" -extensions v3 \
        -out "$tmp/ds.pem" 2>/dev/null
    openssl x509 -in "$tmp/csca.pem" -outform DER -out "$name/csca.der"

    # The LDS Security Object (9303-10 §4.6.2.2), v0.
    h1=$(openssl dgst -"$md" -r dg1.bin | cut -d' ' -f1)
    h2=$(openssl dgst -"$md" -r dg2.bin | cut -d' ' -f1)
    cat > "$tmp/lds.cnf" <<EOF
asn1 = SEQUENCE:lds
[lds]
version = INTEGER:0
hashAlgorithm = SEQUENCE:hash
hashes = SEQUENCE:hashes
[hash]
algorithm = OID:$md
[hashes]
dg1 = SEQUENCE:dg1
dg2 = SEQUENCE:dg2
[dg1]
number = INTEGER:1
hash = FORMAT:HEX,OCTETSTRING:$h1
[dg2]
number = INTEGER:2
hash = FORMAT:HEX,OCTETSTRING:$h2
EOF
    openssl asn1parse -genconf "$tmp/lds.cnf" -out "$tmp/lds.der" >/dev/null
    # shellcheck disable=SC2086
    openssl cms -sign -binary -nodetach -nosmimecap -econtent_type 2.23.136.1.1.1 \
        -md "$md" -signer "$tmp/ds.pem" -inkey "$tmp/ds.key" $cms \
        -in "$tmp/lds.der" -outform DER -out "$name/sod.der"
}

for md in sha1 sha224 sha256 sha384 sha512; do
    case_ "rsa-$md" rsa "$md" pkcs1
    case_ "pss-$md" rsa "$md" pss
    case_ "p256-$md" prime256v1 "$md" ecdsa
    case_ "p384-$md" secp384r1 "$md" ecdsa
    case_ "p521-$md" secp521r1 "$md" ecdsa
    case_ "bp256-$md" brainpoolP256r1 "$md" ecdsa
    case_ "bp384-$md" brainpoolP384r1 "$md" ecdsa
    case_ "bp512-$md" brainpoolP512r1 "$md" ecdsa
    case_ "p192-$md" prime192v1 "$md" ecdsa
    case_ "p224-$md" secp224r1 "$md" ecdsa
    case_ "bp192-$md" brainpoolP192r1 "$md" ecdsa
    case_ "bp224-$md" brainpoolP224r1 "$md" ecdsa
    case_ "bp320-$md" brainpoolP320r1 "$md" ecdsa
done
# RSA-PSS with an id-RSASSA-PSS key (not rsaEncryption).
case_ pss-key-sha256 rsa-pss sha256 pss
