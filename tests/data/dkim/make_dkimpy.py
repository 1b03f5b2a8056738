#!/usr/bin/python3
# Makes the dkimpy cross-check vectors of src/policy/dkim_test.cpp: messages signed by
# dkimpy (Debian python3-dkim) with fresh keys, and the key records to verify them.
# Run from this directory: /usr/bin/python3 make_dkimpy.py
import base64
import subprocess

import dkim
import nacl.signing

MESSAGE = (
    b"Received: from client.example.org by mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"From: Ana Example <ana@example.org>\r\n"
    b"To: bo@example.net,\r\n"
    b"\tcy@example.net\r\n"
    b"SUBJECT:  Folded   and\r\n"
    b"   spaced \t subject  \r\n"
    b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"Message-ID: <dkimpy-vector@example.org>\r\n"
    b"X-Twice: first\r\n"
    b"X-Twice: second\r\n"
    b"\r\n"
    b"Hello,  \r\n"
    b"\r\n"
    b"  indented\tline with  trailing space \t\r\n"
    b"last line\r\n"
    b"\r\n"
    b"\r\n"
)

HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"x-twice", b"x-twice", b"x-twice", b"cc"]


def rsa_key():
    pem = subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    return pem, base64.b64encode(der).decode()


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


def main():
    rsa_pem, rsa_pub = rsa_key()
    ed = nacl.signing.SigningKey.generate()
    ed_priv = base64.b64encode(bytes(ed))
    ed_pub = base64.b64encode(bytes(ed.verify_key)).decode()
    write("dkimpy-rsa.txt", f"v=DKIM1; k=rsa; p={rsa_pub}".encode())
    write("dkimpy-ed25519.txt", f"v=DKIM1; k=ed25519; p={ed_pub}".encode())
    cases = [
        ("dkimpy-rsa-simple.eml", b"rsa", rsa_pem, (b"simple", b"simple"), False, b"rsa-sha256"),
        ("dkimpy-rsa-relaxed.eml", b"rsa", rsa_pem, (b"relaxed", b"relaxed"), False, b"rsa-sha256"),
        ("dkimpy-rsa-length.eml", b"rsa", rsa_pem, (b"relaxed", b"relaxed"), True, b"rsa-sha256"),
        ("dkimpy-ed25519-relaxed-simple.eml", b"ed", ed_priv, (b"relaxed", b"simple"), False, b"ed25519-sha256"),
        ("dkimpy-ed25519-simple-relaxed.eml", b"ed", ed_priv, (b"simple", b"relaxed"), False, b"ed25519-sha256"),
    ]
    for name, selector, key, canon, length, alg in cases:
        sig = dkim.sign(MESSAGE, selector, b"example.org", key, canonicalize=canon, include_headers=HEADERS,
                        length=length, signature_algorithm=alg)
        write(name, sig + MESSAGE)
        records = {b"rsa._domainkey.example.org.": f"v=DKIM1; k=rsa; p={rsa_pub}".encode(),
                   b"ed._domainkey.example.org.": f"v=DKIM1; k=ed25519; p={ed_pub}".encode()}
        assert dkim.verify(sig + MESSAGE, dnsfunc=lambda n, timeout=5: records.get(n)), name


main()
