#!/usr/bin/env python3
"""Makes JSON Web Tokens for the tests, with python3-cryptography only.

  jwt_make.py sign ALG KEYFILE CLAIMS_JSON [--kid K] [--header JSON]
      a token: ALG is HS256..HS512 (KEYFILE holds the secret), RS*, PS*,
      ES256/384/512 or EdDSA (KEYFILE holds a PEM private key), or none
  jwt_make.py jwk PEMFILE [--kid K] [--alg ALG]
      the public JWK of a PEM private key (or the oct JWK of a secret file)

Claims may use "$now+N" / "$now-N" as a value: seconds from now.
"""
import base64
import hashlib
import hmac
import json
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, ed448, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


HASHES = {"256": (hashes.SHA256, hashlib.sha256), "384": (hashes.SHA384, hashlib.sha384),
          "512": (hashes.SHA512, hashlib.sha512)}


def secret_of(path):
    data = open(path, "rb").read()
    return data[:-1] if data.endswith(b"\n") else data


def sign(alg, keyfile, data):
    if alg == "none":
        return b""
    if alg.startswith("HS"):
        return hmac.new(secret_of(keyfile), data, HASHES[alg[2:]][1]).digest()
    key = serialization.load_pem_private_key(open(keyfile, "rb").read(), password=None)
    if alg == "EdDSA":
        return key.sign(data)
    h = HASHES[alg[2:]][0]()
    if alg.startswith("RS"):
        return key.sign(data, padding.PKCS1v15(), h)
    if alg.startswith("PS"):
        return key.sign(data, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    if alg.startswith("ES"):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
        n = (key.curve.key_size + 7) // 8
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    raise SystemExit("unknown alg " + alg)


def resolve(v):
    if isinstance(v, str) and v.startswith("$now"):
        return int(time.time()) + int(v[4:] or 0)
    if isinstance(v, dict):
        return {k: resolve(x) for k, x in v.items()}
    return v


def option(args, name, default=None):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return default


def jwk(path, kid, alg):
    data = open(path, "rb").read()
    if b"-----BEGIN" not in data:
        out = {"kty": "oct", "k": b64(secret_of(path))}
    else:
        pub = serialization.load_pem_private_key(data, password=None).public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            nums = pub.public_numbers()
            out = {"kty": "RSA", "n": b64(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
                   "e": b64(nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big"))}
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            nums = pub.public_numbers()
            n = (pub.curve.key_size + 7) // 8
            crv = {256: "P-256", 384: "P-384", 521: "P-521"}[pub.curve.key_size]
            out = {"kty": "EC", "crv": crv, "x": b64(nums.x.to_bytes(n, "big")),
                   "y": b64(nums.y.to_bytes(n, "big"))}
        else:
            crv = "Ed25519" if isinstance(pub, ed25519.Ed25519PublicKey) else "Ed448"
            assert isinstance(pub, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            out = {"kty": "OKP", "crv": crv, "x": b64(raw)}
    if kid:
        out["kid"] = kid
    if alg:
        out["alg"] = alg
    return out


def main():
    args = sys.argv[1:]
    kid = option(args, "--kid")
    if args[0] == "jwk":
        print(json.dumps(jwk(args[1], kid, option(args, "--alg"))))
        return
    extra = json.loads(option(args, "--header", "{}"))
    _, alg, keyfile, claims = args
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    header.update(extra)
    signed = b64(json.dumps(header).encode()) + "." + b64(json.dumps(resolve(json.loads(claims))).encode())
    print(signed + "." + b64(sign(alg, keyfile, signed.encode())))


main()
