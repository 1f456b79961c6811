//! Sprig encoding, hashing and random functions.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use base64::Engine as _;
use sha1::Digest as _;

use super::{arity, i_arg, reg, reg1, s_arg};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::Value;

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        let mut h = RandomState::new().build_hasher();
        h.write_u64(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0));
        h.finish() | 1
    });
}

/// A pseudo-random u64 (splitmix64; not for secrets — Sprig output is only checked for shape).
pub(crate) fn random_u64() -> u64 {
    RNG.with(|c| {
        let mut z = c.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        c.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// Uniform in `0..n` (n > 0).
pub(crate) fn random_below(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    random_u64() % n
}

fn random_string(count: i64, alphabet: &[u8]) -> Result<Value, FuncError> {
    if count < 0 {
        return Err(FuncError::msg(format!(
            "Requested random string length {count} is less than 0."
        )));
    }
    if count > 10_000_000 {
        return Err(FuncError::msg("requested random string is too long"));
    }
    let s: String = (0..count)
        .map(|_| alphabet[random_below(alphabet.len() as u64) as usize] as char)
        .collect();
    Ok(s.into())
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const NUM: &[u8] = b"0123456789";

fn ascii_printable() -> Vec<u8> {
    (32u8..=126).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = u64::from(buf[0]) << 32
            | u64::from(buf[1]) << 24
            | u64::from(buf[2]) << 16
            | u64::from(buf[3]) << 8
            | u64::from(buf[4]);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32_decode(s: &str) -> Result<Vec<u8>, String> {
    let s = s.replace(['\r', '\n'], "");
    if !s.len().is_multiple_of(8) {
        return Err(format!(
            "illegal base32 data at input byte {}",
            s.len() / 8 * 8
        ));
    }
    let mut out = Vec::new();
    for (ci, chunk) in s.as_bytes().chunks(8).enumerate() {
        let mut n: u64 = 0;
        let mut valid = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if c == b'=' {
                0
            } else {
                match B32.iter().position(|&x| x == c) {
                    Some(p) => {
                        if valid != i {
                            return Err(format!(
                                "illegal base32 data at input byte {}",
                                ci * 8 + i
                            ));
                        }
                        valid += 1;
                        p as u64
                    }
                    None => {
                        return Err(format!("illegal base32 data at input byte {}", ci * 8 + i));
                    }
                }
            };
            n = (n << 5) | v;
        }
        let bytes = match valid {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => {
                return Err(format!(
                    "illegal base32 data at input byte {}",
                    ci * 8 + valid
                ));
            }
        };
        for i in 0..bytes {
            out.push(((n >> (32 - i * 8)) & 0xff) as u8);
        }
    }
    Ok(out)
}

fn base64_error(e: base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(i, _) => format!("illegal base64 data at input byte {i}"),
        base64::DecodeError::InvalidLastSymbol { offset, .. } => {
            format!("illegal base64 data at input byte {offset}")
        }
        base64::DecodeError::InvalidLength(i) => format!("illegal base64 data at input byte {i}"),
        _ => "illegal base64 data at input byte 0".into(),
    }
}

fn unsupported(m: &mut FuncMap, name: &'static str) {
    reg1(m, name, |n, _| {
        Err(FuncError::msg(format!(
            "{n} is not supported by this implementation"
        )))
    });
}

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "b64enc", |n, a| {
        arity(n, a, 1)?;
        Ok(base64::engine::general_purpose::STANDARD
            .encode(s_arg(a, 0)?)
            .into())
    });
    reg1(m, "b64dec", |n, a| {
        arity(n, a, 1)?;
        Ok(
            match base64::engine::general_purpose::STANDARD.decode(s_arg(a, 0)?) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => base64_error(e),
            }
            .into(),
        )
    });
    reg1(m, "b32enc", |n, a| {
        arity(n, a, 1)?;
        Ok(b32_encode(s_arg(a, 0)?.as_bytes()).into())
    });
    reg1(m, "b32dec", |n, a| {
        arity(n, a, 1)?;
        Ok(match b32_decode(s_arg(a, 0)?) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        }
        .into())
    });
    reg1(m, "sha1sum", |n, a| {
        arity(n, a, 1)?;
        Ok(hex(&sha1::Sha1::digest(s_arg(a, 0)?.as_bytes())).into())
    });
    reg1(m, "sha256sum", |n, a| {
        arity(n, a, 1)?;
        Ok(hex(&sha2::Sha256::digest(s_arg(a, 0)?.as_bytes())).into())
    });
    reg1(m, "sha512sum", |n, a| {
        arity(n, a, 1)?;
        Ok(hex(&sha2::Sha512::digest(s_arg(a, 0)?.as_bytes())).into())
    });
    reg1(m, "adler32sum", |n, a| {
        arity(n, a, 1)?;
        Ok(adler32(s_arg(a, 0)?.as_bytes()).to_string().into())
    });
    reg1(m, "uuidv4", |_, _| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&random_u64().to_le_bytes());
        b[8..].copy_from_slice(&random_u64().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
        .into())
    });
    reg(m, "randAlphaNum", |_, a| {
        arity("randAlphaNum", a, 1)?;
        random_string(i_arg(a, 0)?, ALNUM)
    });
    reg(m, "randAlpha", |_, a| {
        arity("randAlpha", a, 1)?;
        random_string(i_arg(a, 0)?, ALPHA)
    });
    reg(m, "randNumeric", |_, a| {
        arity("randNumeric", a, 1)?;
        random_string(i_arg(a, 0)?, NUM)
    });
    reg(m, "randAscii", |_, a| {
        arity("randAscii", a, 1)?;
        random_string(i_arg(a, 0)?, &ascii_printable())
    });
    reg1(m, "randBytes", |n, a| {
        arity(n, a, 1)?;
        let c = i_arg(a, 0)?;
        if !(0..=10_000_000).contains(&c) {
            return Err(FuncError::msg("invalid randBytes count"));
        }
        let bytes: Vec<u8> = (0..c).map(|_| random_u64() as u8).collect();
        Ok(base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into())
    });
    for name in [
        "bcrypt",
        "htpasswd",
        "derivePassword",
        "buildCustomCert",
        "encryptAES",
        "decryptAES",
    ] {
        unsupported(m, name);
    }
    let _ = Value::Nil;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_and_base32() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(b32_encode(b"foobar"), "MZXW6YTBOI======");
        assert_eq!(
            b32_decode("MZXW6YTBOI======").unwrap_or_default(),
            b"foobar"
        );
        assert_eq!(b32_encode(b"f"), "MY======");
    }
}
