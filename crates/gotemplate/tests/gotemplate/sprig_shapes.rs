//! Sprig functions whose output is random or time-dependent: checked for shape.

use crate::support::{check, check_err, render};

#[test]
fn random_strings_have_the_right_shape() {
    let out = render(
        "{{ uuidv4 }}\n{{ randAlphaNum 12 }}\n{{ randAlpha 5 }}\n{{ randNumeric 7 }}\n{{ randAscii 9 }}\n{{ randBytes 6 | b64dec | len }}\n{{ shuffle \"abcdef\" | len }}",
        "{}",
    )
    .unwrap();
    // newline separates: randAscii may produce any printable ASCII character
    let parts: Vec<&str> = out.split('\n').collect();
    assert_eq!(parts.len(), 7, "{out}");
    let uuid = parts[0];
    assert_eq!(uuid.len(), 36, "{uuid}");
    assert_eq!(&uuid[14..15], "4", "version nibble: {uuid}");
    assert!("89ab".contains(&uuid[19..20]), "variant: {uuid}");
    assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_eq!(parts[1].len(), 12);
    assert!(parts[1].chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(parts[2].len() == 5 && parts[2].chars().all(|c| c.is_ascii_alphabetic()));
    assert!(parts[3].len() == 7 && parts[3].chars().all(|c| c.is_ascii_digit()));
    assert!(parts[4].len() == 9 && parts[4].chars().all(|c| (' '..='~').contains(&c)));
    assert_eq!(parts[6], "6");
    let a = render("{{ randAlphaNum 32 }}", "{}").unwrap();
    let b = render("{{ randAlphaNum 32 }}", "{}").unwrap();
    assert_ne!(a, b, "two random strings should differ");
    let n = render("{{ randInt 3 5 }}", "{}").unwrap();
    assert!(n == "3" || n == "4", "{n}");
}

#[test]
fn certificates_are_pem() {
    let out = render(
        r#"{{ $ca := genCA "my-ca" 365 }}{{ $c := genSignedCert "svc.ns" (list "10.0.0.1") (list "svc" "svc.ns.svc") 30 $ca }}{{ $s := genSelfSignedCert "self" nil (list "a.b") 10 }}{{ $ca.Cert }}|{{ $ca.Key }}|{{ $c.Cert }}|{{ $c.Key }}|{{ $s.Cert | b64enc | b64dec }}|{{ genPrivateKey "ecdsa" }}"#,
        "{}",
    )
    .unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert_eq!(parts.len(), 6);
    for i in [0, 2, 4] {
        assert!(
            parts[i].starts_with("-----BEGIN CERTIFICATE-----"),
            "{}",
            parts[i]
        );
        assert!(parts[i].trim_end().ends_with("-----END CERTIFICATE-----"));
    }
    for i in [1, 3, 5] {
        assert!(
            parts[i].starts_with("-----BEGIN PRIVATE KEY-----"),
            "{}",
            parts[i]
        );
    }
    assert_ne!(parts[0], parts[2]);
    check_err(
        r#"{{ genSignedCert "x" nil nil 1 "notaca" }}"#,
        "{}",
        "for arg of type sprig.certificate",
    );
    check(
        r#"{{ genPrivateKey "rsa" | contains "not supported" }}"#,
        "{}",
        "true",
    );
}

#[test]
fn unsupported_functions_fail_clearly() {
    for f in [
        "bcrypt \"x\"",
        "htpasswd \"u\" \"p\"",
        "derivePassword 1 \"long\" \"p\" \"u\" \"s\"",
        "encryptAES \"k\" \"t\"",
        "decryptAES \"k\" \"t\"",
    ] {
        check_err(
            &format!("{{{{ {f} }}}}"),
            "{}",
            "not supported by this implementation",
        );
    }
}

#[test]
fn dates_have_the_right_shape() {
    let out = render(
        r#"{{ now | date "2006-01-02" }}|{{ now | unixEpoch }}|{{ typeOf now }}|{{ ago now }}"#,
        "{}",
    )
    .unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert_eq!(parts[0].len(), 10);
    assert!(parts[1].parse::<i64>().unwrap() > 1_700_000_000);
    assert_eq!(parts[2], "time.Time");
    assert_eq!(parts[3], "0s");
    check(
        r#"{{ (toDate "2006-01-02" "2024-02-29").Year }}"#,
        "{}",
        "2024",
    );
    check(
        r#"{{ dateInZone "Jan 2 2006" (toDate "2006-01-02 15:04" "2024-03-05 23:30" | dateModify "1h") "UTC" }}"#,
        "{}",
        "Mar 6 2024",
    );
    check_err(
        r#"{{ mustToDate "2006-01-02" "nope" }}"#,
        "{}",
        "parsing time",
    );
    check_err(r#"{{ mustDateModify "xx" now }}"#, "{}", "invalid duration");
}

#[test]
fn semver_objects() {
    check(
        r#"{{ $v := semver "v1.2.3-rc.1+b5" }}{{ $v.Major }}.{{ $v.Minor }}.{{ $v.Patch }} {{ $v.Prerelease }} {{ $v.Metadata }} {{ $v.Original }}"#,
        "{}",
        "1.2.3 rc.1 b5 v1.2.3-rc.1+b5",
    );
    check(
        r#"{{ (semver "1.2.3").Compare (semver "1.3.0") }} {{ (semver "2.0.0").GreaterThan (semver "1.9.9") }}"#,
        "{}",
        "-1 true",
    );
    check_err(
        r#"{{ semver "not.a.version" }}"#,
        "{}",
        "Invalid Semantic Version",
    );
}
