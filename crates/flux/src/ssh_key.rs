//! The public half of an OpenSSH private key file, read from the key's unencrypted header
//! (`openssh-key-v1`), so `create secret git` can store `identity.pub` without generating or
//! decrypting anything.

#[derive(Debug)]
pub enum KeyError {
    NotOpenSsh,
    Base64,
    Truncated,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyError::NotOpenSsh => {
                "not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----); convert it with `ssh-keygen -p -f FILE`"
            }
            KeyError::Base64 => "the key's body is not valid base64",
            KeyError::Truncated => "the key's header is truncated",
        })
    }
}

impl std::error::Error for KeyError {}

fn read_string<'a>(data: &'a [u8], pos: &mut usize) -> Result<&'a [u8], KeyError> {
    let len_bytes = data.get(*pos..*pos + 4).ok_or(KeyError::Truncated)?;
    let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
    *pos += 4;
    let s = data.get(*pos..*pos + len).ok_or(KeyError::Truncated)?;
    *pos += len;
    Ok(s)
}

/// `ssh-ed25519 AAAA…` for an OpenSSH private key file's text.
pub fn public_key_of(private_pem: &str) -> Result<String, KeyError> {
    let begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    let end = "-----END OPENSSH PRIVATE KEY-----";
    let start = private_pem.find(begin).ok_or(KeyError::NotOpenSsh)? + begin.len();
    let stop = private_pem[start..].find(end).ok_or(KeyError::NotOpenSsh)? + start;
    let data = crate::base64::decode(&private_pem[start..stop]).ok_or(KeyError::Base64)?;
    let magic = b"openssh-key-v1\0";
    if !data.starts_with(magic) {
        return Err(KeyError::NotOpenSsh);
    }
    let mut pos = magic.len();
    let _cipher = read_string(&data, &mut pos)?;
    let _kdf = read_string(&data, &mut pos)?;
    let _kdf_options = read_string(&data, &mut pos)?;
    pos += 4; // number of keys
    let blob = read_string(&data, &mut pos)?;
    let mut bpos = 0;
    let key_type = read_string(blob, &mut bpos)?;
    Ok(format!(
        "{} {}",
        String::from_utf8_lossy(key_type),
        crate::base64::encode(blob)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_test_key_gives_upstream_public_key() {
        // The ECDSA key of upstream's create_secret_git test data and its identity.pub.
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS
1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQTuiu+gGwLIu9E5J4vRshoIBHScKx4Y
f9oniWMsLFHXq5p9GJ/eb9Cr3jgNACnGOIGOqlwBQvP5rCJuaJ0pCRKUAAAAuNE1GtvRNR
rbAAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBO6K76AbAsi70Tkn
i9GyGggEdJwrHhh/2ieJYywsUdermn0Yn95v0KveOA0AKcY4gY6qXAFC8/msIm5onSkJEp
QAAAAhAPaO6PiN+1238KMrHg34M7XdftGypt2/UKEz2L2Pf40yAAAAH3NvbXRvY2hpb255
ZWt3ZXJlQFNvbXRvY2hpcy1NQlA=
-----END OPENSSH PRIVATE KEY-----
";
        assert_eq!(
            public_key_of(key).expect("parses"),
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBO6K76AbAsi70Tkni9GyGggEdJwrHhh/2ieJYywsUdermn0Yn95v0KveOA0AKcY4gY6qXAFC8/msIm5onSkJEpQ="
        );
        assert!(public_key_of("-----BEGIN RSA PRIVATE KEY-----\nx\n").is_err());
    }
}
