#!/usr/bin/python3
"""Checks vicc's ePass (as patched by vicc-epass-py3.patch) against the
ICAO 9303-11 worked examples, byte for byte: Basic Access Control
(Appendix D.3) and 3DES secure messaging (Appendix D.4).

Run with the patched `virtualsmartcard` package on PYTHONPATH:

    PYTHONPATH=DIR python3 tools/vicc/check_9303.py firmware/tests/vectors/icao9303-11.toml

It drives vicc's card OS in process (no vpcd): the card's random numbers
(RND.IC and K.IC) are the appendix's, so every answer must be the
appendix's. Prints one line per step and exits 1 at the first difference.
"""

import builtins
import hashlib
import sys
import tomllib

from Cryptodome.Cipher import DES, DES3

from virtualsmartcard.CardGenerator import CardGenerator
from virtualsmartcard.VirtualSmartcard import Iso7816OS
import virtualsmartcard.SmartcardSAM as sam_module
import virtualsmartcard.cards.ePass as epass_module

# The specimen passport of 9303-3 whose MRZ information Appendix D.2 uses.
SPECIMEN_MRZ = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
    "L898902C<3UTO6908061F9406236ZE184226B<<<<<14"
)


def fail(what, want, got):
    print(f"FAIL {what}\n  want {want.hex().upper()}\n  got  {got.hex().upper()}")
    sys.exit(1)


def main():
    with open(sys.argv[1], "rb") as f:
        v = tomllib.load(f)
    bac = v["bac"]["mutual_authentication"]

    answers = iter([SPECIMEN_MRZ, "/nonexistent-photo"])
    builtins.input = lambda prompt="": next(answers)
    generator = CardGenerator("ePass")
    mf, sam = generator.getCard()
    os = Iso7816OS(mf, sam)

    # D.4 reads an EF.COM of LDS 1.6; vicc writes 1.7. Put the appendix's
    # EF.COM in place so the encrypted answers can match.
    com = bytes.fromhex(v["sm"]["steps"][1]["plain_response"] + v["sm"]["steps"][2]["plain_response"])
    ef_com = mf.select("dfname", b"\xa0\x00\x00\x02G\x10\x01").select("fid", 0x011E)
    ef_com.data = com

    # The appendix's random numbers.
    sam_module.urandom = lambda n: bytes.fromhex(bac["rnd_ic"])
    epass_module.urandom = lambda n: bytes.fromhex(bac["k_ic"])

    def step(what, command, want):
        got = os.execute(bytes.fromhex(command))
        if got != bytes.fromhex(want):
            fail(what, bytes.fromhex(want), got)
        print(f"ok   {what}")

    step("SELECT eMRTD application", "00A4040C07A0000002471001", "9000")
    step("GET CHALLENGE (D.3)", "0084000008", bac["rnd_ic"] + "9000")
    step("EXTERNAL AUTHENTICATE (D.3)", bac["external_authenticate_command"], bac["response_data"] + "9000")
    ssc = sam.current_SE.ssc.to_bytes(8, "big")
    if ssc != bytes.fromhex(bac["ssc"]):
        fail("SSC after BAC (D.3)", bytes.fromhex(bac["ssc"]), ssc)
    print("ok   SSC after BAC (D.3)")
    for s in v["sm"]["steps"]:
        step(s["what"] + " (D.4)", s["protected"], s["response"])
    print("vicc's ePass matches ICAO 9303-11 Appendix D.3 and D.4")

    # Past the appendix, with this script's own 3DES secure messaging: an
    # error status is protected too (DO'99' and DO'8E'), and a wrong MAC is
    # answered in plain 6988 and ends the session.
    session = Session(bytes.fromhex(bac["ks_enc"]), bytes.fromhex(bac["ks_mac"]),
                      int(bac["ssc"], 16) + 2 * len(v["sm"]["steps"]))
    command = session.protect(bytes.fromhex("00A4020C"), bytes.fromhex("0123"), None)
    got = os.execute(command)
    want = session.expect_response(b"", 0x6A82)
    if got != want:
        fail("SELECT of an absent file under SM", want, got)
    print("ok   SELECT of an absent file: 6A82 in DO'99' under the MAC")
    command = bytearray(session.protect(bytes.fromhex("00B00000"), b"", 4))
    command[-2] ^= 0x01
    got = os.execute(bytes(command))
    if got != bytes.fromhex("6988"):
        fail("a wrong command MAC", bytes.fromhex("6988"), got)
    command = session.protect(bytes.fromhex("00B00000"), b"", 4)
    got = os.execute(command)
    if got != bytes.fromhex("6988"):
        fail("a command after a wrong MAC", bytes.fromhex("6988"), got)
    print("ok   a wrong MAC: plain 6988, and the session keys are gone")

    # A whole BAC whose SSC starts with a zero byte (RND.IC's fifth byte):
    # the SSC in the MAC is still 8 bytes.
    rnd_ic = bytes.fromhex("4608F91900702212")
    sam_module.urandom = lambda n: rnd_ic
    session = bac_session(os, bytes.fromhex(v["bac"]["keys"]["k_enc"]),
                          bytes.fromhex(v["bac"]["keys"]["k_mac"]), rnd_ic,
                          bytes.fromhex(bac["rnd_ifd"]), bytes.fromhex(bac["k_ifd"]),
                          bytes.fromhex(bac["k_ic"]))
    if session.ssc >> 56 != 0:
        fail("an SSC with a leading zero byte", b"\x00", session.ssc.to_bytes(8, "big")[:1])
    os.execute(session.protect(bytes.fromhex("00A4020C"), bytes.fromhex("011E"), None))
    session.ssc += 1
    got = os.execute(session.protect(bytes.fromhex("00B00000"), b"", 4))
    want = session.expect_response(com[:4], 0x9000)
    if got != want:
        fail("READ BINARY with SSC 00...", want, got)
    print("ok   a session whose SSC starts with 00")


def pad(data):
    data = data + b"\x80"
    return data + b"\x00" * (-len(data) % 8)


def retail_mac(key, data):
    """ISO/IEC 9797-1 MAC algorithm 3 with DES, padding method 2."""
    a = DES.new(key[:8], DES.MODE_CBC, iv=bytes(8)).encrypt(pad(data))[-8:]
    b = DES.new(key[8:16], DES.MODE_ECB).decrypt(a)
    return DES.new(key[:8], DES.MODE_ECB).encrypt(b)


class Session:
    """The terminal's side of 3DES secure messaging (9303-11 9.8)."""

    def __init__(self, ks_enc, ks_mac, ssc):
        self.ks_enc, self.ks_mac, self.ssc = ks_enc, ks_mac, ssc

    def protect(self, header, data, le):
        header = bytes([header[0] | 0x0C]) + header[1:]
        objects = b""
        if data:
            cryptogram = b"\x01" + DES3.new(self.ks_enc, DES3.MODE_CBC, iv=bytes(8)).encrypt(pad(data))
            objects += bytes([0x87, len(cryptogram)]) + cryptogram
        if le is not None:
            objects += bytes([0x97, 1, le])
        self.ssc += 1
        mac = retail_mac(self.ks_mac, self.ssc.to_bytes(8, "big") + pad(header) + objects)
        body = objects + b"\x8E\x08" + mac
        return header + bytes([len(body)]) + body + b"\x00"

    def expect_response(self, plain, sw):
        objects = b""
        if plain:
            cryptogram = b"\x01" + DES3.new(self.ks_enc, DES3.MODE_CBC, iv=bytes(8)).encrypt(pad(plain))
            objects += bytes([0x87, len(cryptogram)]) + cryptogram
        objects += b"\x99\x02" + sw.to_bytes(2, "big")
        self.ssc += 1
        mac = retail_mac(self.ks_mac, self.ssc.to_bytes(8, "big") + objects)
        return objects + b"\x8E\x08" + mac + sw.to_bytes(2, "big")


def derive(seed, counter):
    return hashlib.sha1(seed + counter.to_bytes(4, "big")).digest()[:16]


def bac_session(os, k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd, k_ic):
    """Runs BAC (9303-11 4.3) against `os` and returns the session."""
    if os.execute(bytes.fromhex("0084000008")) != rnd_ic + b"\x90\x00":
        fail("GET CHALLENGE", rnd_ic, b"")
    e_ifd = DES3.new(k_enc, DES3.MODE_CBC, iv=bytes(8)).encrypt(rnd_ifd + rnd_ic + k_ifd)
    m_ifd = retail_mac(k_mac, e_ifd)
    answer = os.execute(bytes.fromhex("0082000028") + e_ifd + m_ifd + b"\x28")
    if answer[-2:] != b"\x90\x00" or retail_mac(k_mac, answer[:32]) != answer[32:40]:
        fail("EXTERNAL AUTHENTICATE", b"", answer)
    r = DES3.new(k_enc, DES3.MODE_CBC, iv=bytes(8)).decrypt(answer[:32])
    if r[:16] != rnd_ic + rnd_ifd or r[16:] != k_ic:
        fail("EXTERNAL AUTHENTICATE's R", rnd_ic + rnd_ifd + k_ic, r)
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic))
    return Session(derive(seed, 1), derive(seed, 2),
                   int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big"))


if __name__ == "__main__":
    main()
