//! Sprig's certificate functions (`genCA`, `genSelfSignedCert`, `genSignedCert`, their
//! `WithKey` forms, `genPrivateKey`), built with rcgen. Keys are ECDSA P-256 (PKCS#8
//! "PRIVATE KEY") where Sprig makes RSA 2048 keys: charts only pass the PEM text on.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{arity, i_arg, reg1, s_arg};
use crate::FuncMap;
use crate::error::FuncError;
use crate::value::{Object, Value};

/// Sprig's `certificate` struct: `.Cert` and `.Key` (PEM).
#[derive(Debug, Clone)]
pub struct GoCertificate {
    pub cert: String,
    pub key: String,
    /// Subject common name (used when this certificate signs others).
    pub common_name: String,
}

impl Object for GoCertificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(self.cert.as_str().into()),
            "Key" => Some(self.key.as_str().into()),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }
    fn to_value(&self) -> Value {
        let mut m = crate::value::Map::new();
        m.insert("Cert".into(), self.cert.as_str().into());
        m.insert("Key".into(), self.key.as_str().into());
        Value::map(m)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn err(e: impl std::fmt::Display) -> FuncError {
    FuncError::msg(e)
}

fn validity(params: &mut CertificateParams, days: i64) -> Result<(), FuncError> {
    let today = jiff::Zoned::now().date();
    let end = today
        .checked_add(jiff::Span::new().days(days.clamp(-100_000, 100_000)))
        .map_err(err)?;
    params.not_before = rcgen::date_time_ymd(
        i32::from(today.year()),
        today.month() as u8,
        today.day() as u8,
    );
    params.not_after =
        rcgen::date_time_ymd(i32::from(end.year()), end.month() as u8, end.day() as u8);
    Ok(())
}

fn names(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn string_list(v: &Value) -> Result<Vec<String>, FuncError> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::List(l) => Ok(l
            .iter()
            .filter(|x| !x.is_nil())
            .map(super::strval)
            .collect()),
        other => Err(FuncError::msg(format!(
            "cannot use {} as a list of names",
            other.type_name()
        ))),
    }
}

fn key_from(pem: Option<&str>) -> Result<KeyPair, FuncError> {
    match pem {
        Some(p) => KeyPair::from_pem(p).map_err(|e| err(format!("error parsing private key: {e}"))),
        None => KeyPair::generate().map_err(err),
    }
}

fn gen_ca(cn: &str, days: i64, key: Option<&str>) -> Result<GoCertificate, FuncError> {
    let kp = key_from(key)?;
    let mut p = CertificateParams::default();
    p.distinguished_name = names(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    validity(&mut p, days)?;
    let cert = p.self_signed(&kp).map_err(err)?;
    Ok(GoCertificate {
        cert: cert.pem(),
        key: kp.serialize_pem(),
        common_name: cn.to_string(),
    })
}

fn leaf_params(
    cn: &str,
    ips: &Value,
    dns: &Value,
    days: i64,
) -> Result<CertificateParams, FuncError> {
    let mut p = CertificateParams::default();
    p.distinguished_name = names(cn);
    for ip in string_list(ips)? {
        let addr = ip
            .parse()
            .map_err(|_| FuncError::msg(format!("error parsing ip: {ip}")))?;
        p.subject_alt_names.push(SanType::IpAddress(addr));
    }
    for name in string_list(dns)? {
        let n = name.try_into().map_err(err)?;
        p.subject_alt_names.push(SanType::DnsName(n));
    }
    p.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    validity(&mut p, days)?;
    Ok(p)
}

fn gen_self_signed(a: &[Value], key: Option<&str>) -> Result<GoCertificate, FuncError> {
    let cn = s_arg(a, 0)?;
    let p = leaf_params(cn, &a[1], &a[2], i_arg(a, 3)?)?;
    let kp = key_from(key)?;
    let cert = p.self_signed(&kp).map_err(err)?;
    Ok(GoCertificate {
        cert: cert.pem(),
        key: kp.serialize_pem(),
        common_name: cn.to_string(),
    })
}

fn gen_signed(a: &[Value], key: Option<&str>) -> Result<GoCertificate, FuncError> {
    let cn = s_arg(a, 0)?;
    let p = leaf_params(cn, &a[1], &a[2], i_arg(a, 3)?)?;
    let ca = match &a[4] {
        Value::Object(o) => o.as_any().downcast_ref::<GoCertificate>().cloned(),
        _ => None,
    }
    .ok_or_else(|| super::wrong_type(4, "sprig.certificate", &a[4]))?;
    let ca_key =
        KeyPair::from_pem(&ca.key).map_err(|e| err(format!("error parsing ca key: {e}")))?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = names(&ca.common_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ];
    let issuer = Issuer::new(ca_params, ca_key);
    let kp = key_from(key)?;
    let cert = p.signed_by(&kp, &issuer).map_err(err)?;
    Ok(GoCertificate {
        cert: cert.pem(),
        key: kp.serialize_pem(),
        common_name: cn.to_string(),
    })
}

pub(super) fn register(m: &mut FuncMap) {
    reg1(m, "genCA", |n, a| {
        arity(n, a, 2)?;
        Ok(Value::object(gen_ca(s_arg(a, 0)?, i_arg(a, 1)?, None)?))
    });
    reg1(m, "genCAWithKey", |n, a| {
        arity(n, a, 3)?;
        Ok(Value::object(gen_ca(
            s_arg(a, 0)?,
            i_arg(a, 1)?,
            Some(s_arg(a, 2)?),
        )?))
    });
    reg1(m, "genSelfSignedCert", |n, a| {
        arity(n, a, 4)?;
        Ok(Value::object(gen_self_signed(a, None)?))
    });
    reg1(m, "genSelfSignedCertWithKey", |n, a| {
        arity(n, a, 5)?;
        Ok(Value::object(gen_self_signed(a, Some(s_arg(a, 4)?))?))
    });
    reg1(m, "genSignedCert", |n, a| {
        arity(n, a, 5)?;
        Ok(Value::object(gen_signed(a, None)?))
    });
    reg1(m, "genSignedCertWithKey", |n, a| {
        arity(n, a, 6)?;
        Ok(Value::object(gen_signed(a, Some(s_arg(a, 5)?))?))
    });
    reg1(m, "genPrivateKey", |n, a| {
        arity(n, a, 1)?;
        let alg = match s_arg(a, 0)? {
            "ecdsa" => &rcgen::PKCS_ECDSA_P256_SHA256,
            "ed25519" => &rcgen::PKCS_ED25519,
            other => {
                return Ok(format!(
                    "Unknown type {other} (generating {other} keys is not supported by this implementation)"
                )
                .into());
            }
        };
        let kp = KeyPair::generate_for(alg).map_err(err)?;
        Ok(kp.serialize_pem().into())
    });
}
