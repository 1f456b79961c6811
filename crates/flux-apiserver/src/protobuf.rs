//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the kinds
//! kubectl's typed clients write: `kubectl create namespace|configmap|secret|
//! serviceaccount|deployment`, `auth can-i` (SelfSubjectAccessReview) and `auth whoami`
//! (SelfSubjectReview). A small table-driven decoder of the proto2 wire format into JSON
//! (field numbers from `k8s.io/api/**/generated.proto`); fields it does not know are skipped.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::status::ApiError;

const MAGIC: &[u8] = b"k8s\0";

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Msg(&'static [F]),
    RepStr,
    RepMsg(&'static [F]),
    MapStr,
    MapBytes,
    MapQuantity,
    IntOrString,
    Time,
    /// An embedded Go struct (`json:",inline"`): its fields land in the parent object.
    Inline(&'static [F]),
}

/// One field: number, JSON name, kind.
type F = (u64, &'static str, Kind);

const OBJECT_META: &[F] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (8, "creationTimestamp", Kind::Time),
    (11, "labels", Kind::MapStr),
    (12, "annotations", Kind::MapStr),
    (13, "ownerReferences", Kind::RepMsg(OWNER_REFERENCE)),
    (14, "finalizers", Kind::RepStr),
];
const OWNER_REFERENCE: &[F] = &[
    (1, "kind", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "controller", Kind::Bool),
    (7, "blockOwnerDeletion", Kind::Bool),
];
const CONFIG_MAP: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapStr),
    (3, "binaryData", Kind::MapBytes),
    (4, "immutable", Kind::Bool),
];
const SECRET: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapBytes),
    (3, "type", Kind::Str),
    (4, "stringData", Kind::MapStr),
    (5, "immutable", Kind::Bool),
];
const NAMESPACE_SPEC: &[F] = &[(1, "finalizers", Kind::RepStr)];
const NAMESPACE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(NAMESPACE_SPEC)),
];
const LOCAL_REF: &[F] = &[(1, "name", Kind::Str)];
const SERVICE_ACCOUNT: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (3, "automountServiceAccountToken", Kind::Bool),
    (4, "imagePullSecrets", Kind::RepMsg(LOCAL_REF)),
];
const LABEL_REQUIREMENT: &[F] = &[
    (1, "key", Kind::Str),
    (2, "operator", Kind::Str),
    (3, "values", Kind::RepStr),
];
const LABEL_SELECTOR: &[F] = &[
    (1, "matchLabels", Kind::MapStr),
    (2, "matchExpressions", Kind::RepMsg(LABEL_REQUIREMENT)),
];
const CONTAINER_PORT: &[F] = &[
    (1, "name", Kind::Str),
    (2, "hostPort", Kind::Int),
    (3, "containerPort", Kind::Int),
    (4, "protocol", Kind::Str),
    (5, "hostIP", Kind::Str),
];
const ENV_VAR: &[F] = &[(1, "name", Kind::Str), (2, "value", Kind::Str)];
const RESOURCES: &[F] = &[
    (1, "limits", Kind::MapQuantity),
    (2, "requests", Kind::MapQuantity),
];
const CONTAINER: &[F] = &[
    (1, "name", Kind::Str),
    (2, "image", Kind::Str),
    (3, "command", Kind::RepStr),
    (4, "args", Kind::RepStr),
    (5, "workingDir", Kind::Str),
    (6, "ports", Kind::RepMsg(CONTAINER_PORT)),
    (7, "env", Kind::RepMsg(ENV_VAR)),
    (8, "resources", Kind::Msg(RESOURCES)),
    (13, "terminationMessagePath", Kind::Str),
    (14, "imagePullPolicy", Kind::Str),
    (20, "terminationMessagePolicy", Kind::Str),
];
const POD_SPEC: &[F] = &[
    (2, "containers", Kind::RepMsg(CONTAINER)),
    (3, "restartPolicy", Kind::Str),
    (4, "terminationGracePeriodSeconds", Kind::Int),
    (6, "dnsPolicy", Kind::Str),
    (7, "nodeSelector", Kind::MapStr),
    (8, "serviceAccountName", Kind::Str),
    (10, "nodeName", Kind::Str),
    (20, "initContainers", Kind::RepMsg(CONTAINER)),
];
const POD_TEMPLATE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(POD_SPEC)),
];
const ROLLING_UPDATE: &[F] = &[
    (1, "maxUnavailable", Kind::IntOrString),
    (2, "maxSurge", Kind::IntOrString),
];
const STRATEGY: &[F] = &[
    (1, "type", Kind::Str),
    (2, "rollingUpdate", Kind::Msg(ROLLING_UPDATE)),
];
const DEPLOYMENT_SPEC: &[F] = &[
    (1, "replicas", Kind::Int),
    (2, "selector", Kind::Msg(LABEL_SELECTOR)),
    (3, "template", Kind::Msg(POD_TEMPLATE)),
    (4, "strategy", Kind::Msg(STRATEGY)),
    (5, "minReadySeconds", Kind::Int),
    (6, "revisionHistoryLimit", Kind::Int),
    (7, "paused", Kind::Bool),
    (9, "progressDeadlineSeconds", Kind::Int),
];
const DEPLOYMENT: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(DEPLOYMENT_SPEC)),
];
const RESOURCE_ATTRIBUTES: &[F] = &[
    (1, "namespace", Kind::Str),
    (2, "verb", Kind::Str),
    (3, "group", Kind::Str),
    (4, "version", Kind::Str),
    (5, "resource", Kind::Str),
    (6, "subresource", Kind::Str),
    (7, "name", Kind::Str),
];
const NON_RESOURCE_ATTRIBUTES: &[F] = &[(1, "path", Kind::Str), (2, "verb", Kind::Str)];
const SSAR_SPEC: &[F] = &[
    (1, "resourceAttributes", Kind::Msg(RESOURCE_ATTRIBUTES)),
    (
        2,
        "nonResourceAttributes",
        Kind::Msg(NON_RESOURCE_ATTRIBUTES),
    ),
];
const SSAR: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(SSAR_SPEC)),
];
const SELF_SUBJECT_REVIEW: &[F] = &[(1, "metadata", Kind::Msg(OBJECT_META))];

const POD: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(POD_SPEC)),
];
const SERVICE_PORT: &[F] = &[
    (1, "name", Kind::Str),
    (2, "protocol", Kind::Str),
    (6, "appProtocol", Kind::Str),
    (3, "port", Kind::Int),
    (4, "targetPort", Kind::IntOrString),
    (5, "nodePort", Kind::Int),
];
const SERVICE_SPEC: &[F] = &[
    (1, "ports", Kind::RepMsg(SERVICE_PORT)),
    (2, "selector", Kind::MapStr),
    (3, "clusterIP", Kind::Str),
    (18, "clusterIPs", Kind::RepStr),
    (4, "type", Kind::Str),
    (5, "externalIPs", Kind::RepStr),
    (7, "sessionAffinity", Kind::Str),
    (8, "loadBalancerIP", Kind::Str),
    (9, "loadBalancerSourceRanges", Kind::RepStr),
    (10, "externalName", Kind::Str),
    (11, "externalTrafficPolicy", Kind::Str),
    (12, "healthCheckNodePort", Kind::Int),
    (13, "publishNotReadyAddresses", Kind::Bool),
    (19, "ipFamilies", Kind::RepStr),
    (17, "ipFamilyPolicy", Kind::Str),
    (20, "allocateLoadBalancerNodePorts", Kind::Bool),
    (21, "loadBalancerClass", Kind::Str),
    (22, "internalTrafficPolicy", Kind::Str),
    (23, "trafficDistribution", Kind::Str),
];
const SERVICE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(SERVICE_SPEC)),
];
const SCOPED_REQUIREMENT: &[F] = &[
    (1, "scopeName", Kind::Str),
    (2, "operator", Kind::Str),
    (3, "values", Kind::RepStr),
];
const SCOPE_SELECTOR: &[F] = &[(1, "matchExpressions", Kind::RepMsg(SCOPED_REQUIREMENT))];
const RESOURCE_QUOTA_SPEC: &[F] = &[
    (1, "hard", Kind::MapQuantity),
    (2, "scopes", Kind::RepStr),
    (3, "scopeSelector", Kind::Msg(SCOPE_SELECTOR)),
];
const RESOURCE_QUOTA: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(RESOURCE_QUOTA_SPEC)),
];
const JOB_SPEC: &[F] = &[
    (1, "parallelism", Kind::Int),
    (2, "completions", Kind::Int),
    (3, "activeDeadlineSeconds", Kind::Int),
    (7, "backoffLimit", Kind::Int),
    (12, "backoffLimitPerIndex", Kind::Int),
    (13, "maxFailedIndexes", Kind::Int),
    (4, "selector", Kind::Msg(LABEL_SELECTOR)),
    (5, "manualSelector", Kind::Bool),
    (6, "template", Kind::Msg(POD_TEMPLATE)),
    (8, "ttlSecondsAfterFinished", Kind::Int),
    (9, "completionMode", Kind::Str),
    (10, "suspend", Kind::Bool),
    (14, "podReplacementPolicy", Kind::Str),
    (15, "managedBy", Kind::Str),
];
const JOB: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(JOB_SPEC)),
];
const JOB_TEMPLATE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(JOB_SPEC)),
];
const CRON_JOB_SPEC: &[F] = &[
    (1, "schedule", Kind::Str),
    (8, "timeZone", Kind::Str),
    (2, "startingDeadlineSeconds", Kind::Int),
    (3, "concurrencyPolicy", Kind::Str),
    (4, "suspend", Kind::Bool),
    (5, "jobTemplate", Kind::Msg(JOB_TEMPLATE)),
    (6, "successfulJobsHistoryLimit", Kind::Int),
    (7, "failedJobsHistoryLimit", Kind::Int),
];
const CRON_JOB: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(CRON_JOB_SPEC)),
];
const POLICY_RULE: &[F] = &[
    (1, "verbs", Kind::RepStr),
    (2, "apiGroups", Kind::RepStr),
    (3, "resources", Kind::RepStr),
    (4, "resourceNames", Kind::RepStr),
    (5, "nonResourceURLs", Kind::RepStr),
];
const AGGREGATION_RULE: &[F] = &[(1, "clusterRoleSelectors", Kind::RepMsg(LABEL_SELECTOR))];
const ROLE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "rules", Kind::RepMsg(POLICY_RULE)),
    (3, "aggregationRule", Kind::Msg(AGGREGATION_RULE)),
];
const ROLE_REF: &[F] = &[
    (1, "apiGroup", Kind::Str),
    (2, "kind", Kind::Str),
    (3, "name", Kind::Str),
];
const SUBJECT: &[F] = &[
    (1, "kind", Kind::Str),
    (2, "apiGroup", Kind::Str),
    (3, "name", Kind::Str),
    (4, "namespace", Kind::Str),
];
const ROLE_BINDING: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "subjects", Kind::RepMsg(SUBJECT)),
    (3, "roleRef", Kind::Msg(ROLE_REF)),
];
const PDB_SPEC: &[F] = &[
    (1, "minAvailable", Kind::IntOrString),
    (2, "selector", Kind::Msg(LABEL_SELECTOR)),
    (3, "maxUnavailable", Kind::IntOrString),
    (4, "unhealthyPodEvictionPolicy", Kind::Str),
];
const PDB: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(PDB_SPEC)),
];
const PRIORITY_CLASS: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "value", Kind::Int),
    (3, "globalDefault", Kind::Bool),
    (4, "description", Kind::Str),
    (5, "preemptionPolicy", Kind::Str),
];
const SERVICE_BACKEND_PORT: &[F] = &[(1, "name", Kind::Str), (2, "number", Kind::Int)];
const INGRESS_SERVICE_BACKEND: &[F] = &[
    (1, "name", Kind::Str),
    (2, "port", Kind::Msg(SERVICE_BACKEND_PORT)),
];
const TYPED_LOCAL_REF: &[F] = &[
    (1, "apiGroup", Kind::Str),
    (2, "kind", Kind::Str),
    (3, "name", Kind::Str),
];
const INGRESS_BACKEND: &[F] = &[
    (4, "service", Kind::Msg(INGRESS_SERVICE_BACKEND)),
    (3, "resource", Kind::Msg(TYPED_LOCAL_REF)),
];
const HTTP_INGRESS_PATH: &[F] = &[
    (1, "path", Kind::Str),
    (3, "pathType", Kind::Str),
    (2, "backend", Kind::Msg(INGRESS_BACKEND)),
];
const HTTP_INGRESS_RULE_VALUE: &[F] = &[(1, "paths", Kind::RepMsg(HTTP_INGRESS_PATH))];
const INGRESS_RULE_VALUE: &[F] = &[(1, "http", Kind::Msg(HTTP_INGRESS_RULE_VALUE))];
const INGRESS_RULE: &[F] = &[
    (1, "host", Kind::Str),
    (2, "ingressRuleValue", Kind::Inline(INGRESS_RULE_VALUE)),
];
const INGRESS_TLS: &[F] = &[(1, "hosts", Kind::RepStr), (2, "secretName", Kind::Str)];
const INGRESS_SPEC: &[F] = &[
    (4, "ingressClassName", Kind::Str),
    (1, "defaultBackend", Kind::Msg(INGRESS_BACKEND)),
    (2, "tls", Kind::RepMsg(INGRESS_TLS)),
    (3, "rules", Kind::RepMsg(INGRESS_RULE)),
];
const INGRESS: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "spec", Kind::Msg(INGRESS_SPEC)),
];

fn message_for(api_version: &str, kind: &str) -> Option<&'static [F]> {
    Some(match (api_version, kind) {
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Secret") => SECRET,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("v1", "Pod") => POD,
        ("v1", "Service") => SERVICE,
        ("v1", "ResourceQuota") => RESOURCE_QUOTA,
        ("batch/v1", "Job") => JOB,
        ("batch/v1", "CronJob") => CRON_JOB,
        ("rbac.authorization.k8s.io/v1", "Role" | "ClusterRole") => ROLE,
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => ROLE_BINDING,
        ("policy/v1", "PodDisruptionBudget") => PDB,
        ("scheduling.k8s.io/v1", "PriorityClass") => PRIORITY_CLASS,
        ("networking.k8s.io/v1", "Ingress") => INGRESS,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => SSAR,
        ("authentication.k8s.io/v1", "SelfSubjectReview") => SELF_SUBJECT_REVIEW,
        _ => return None,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!("malformed protobuf body: {what}"))
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| malformed("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint too long"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ApiError> {
        let len = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
        let end = self.pos.checked_add(len).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| malformed("length past the end"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Next (field, wire type, payload); varints/fixed come back as their bytes decoded.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ApiError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        let value = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.skip(8)?;
                Field::Skipped
            }
            2 => Field::Bytes(self.bytes()?),
            5 => {
                self.skip(4)?;
                Field::Skipped
            }
            other => return Err(malformed(&format!("unsupported wire type {other}"))),
        };
        Ok(Some((field, value)))
    }

    fn skip(&mut self, n: usize) -> Result<(), ApiError> {
        if self.pos + n > self.buf.len() {
            return Err(malformed("truncated fixed-width field"));
        }
        self.pos += n;
        Ok(())
    }
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skipped,
}

fn text(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| malformed("a string is not UTF-8"))
}

fn map_entry(b: &[u8]) -> Result<(String, Vec<u8>), ApiError> {
    let mut r = Reader { buf: b, pos: 0 };
    let (mut key, mut value) = (String::new(), Vec::new());
    while let Some((f, v)) = r.next()? {
        match (f, v) {
            (1, Field::Bytes(k)) => key = text(k)?,
            (2, Field::Bytes(v)) => value = v.to_vec(),
            _ => {}
        }
    }
    Ok((key, value))
}

fn decode_message(buf: &[u8], fields: &'static [F]) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let mut r = Reader { buf, pos: 0 };
    while let Some((number, value)) = r.next()? {
        let Some((_, name, kind)) = fields.iter().find(|(n, _, _)| *n == number) else {
            continue;
        };
        let name = (*name).to_string();
        match (*kind, value) {
            (Kind::Str, Field::Bytes(b)) => {
                let s = text(b)?;
                if !s.is_empty() {
                    out.insert(name, json!(s));
                }
            }
            (Kind::Int, Field::Varint(v)) => {
                out.insert(name, json!(v as i64));
            }
            (Kind::Bool, Field::Varint(v)) => {
                out.insert(name, json!(v != 0));
            }
            (Kind::Inline(sub), Field::Bytes(b)) => {
                out.extend(decode_message(b, sub)?);
            }
            (Kind::Msg(sub), Field::Bytes(b)) => {
                let m = decode_message(b, sub)?;
                if !m.is_empty() || matches!(name.as_str(), "spec" | "resources") {
                    out.insert(name, Value::Object(m));
                }
            }
            (Kind::RepStr, Field::Bytes(b)) => {
                let s = text(b)?;
                if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    list.push(json!(s));
                }
            }
            (Kind::RepMsg(sub), Field::Bytes(b)) => {
                let m = decode_message(b, sub)?;
                if let Some(list) = out.entry(name).or_insert_with(|| json!([])).as_array_mut() {
                    list.push(Value::Object(m));
                }
            }
            (Kind::MapStr | Kind::MapBytes | Kind::MapQuantity, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                let value = match *kind {
                    Kind::MapStr => json!(text(&v)?),
                    Kind::MapBytes => json!(base64::engine::general_purpose::STANDARD.encode(&v)),
                    _ => {
                        // Quantity{1: string}
                        let mut r = Reader { buf: &v, pos: 0 };
                        let mut q = String::new();
                        while let Some((f, fv)) = r.next()? {
                            if let (1, Field::Bytes(s)) = (f, fv) {
                                q = text(s)?;
                            }
                        }
                        json!(q)
                    }
                };
                if let Some(map) = out.entry(name).or_insert_with(|| json!({})).as_object_mut() {
                    map.insert(k, value);
                }
            }
            (Kind::IntOrString, Field::Bytes(b)) => {
                let mut r = Reader { buf: b, pos: 0 };
                let (mut ty, mut int, mut s) = (0u64, 0i64, String::new());
                while let Some((f, fv)) = r.next()? {
                    match (f, fv) {
                        (1, Field::Varint(v)) => ty = v,
                        (2, Field::Varint(v)) => int = v as i32 as i64,
                        (3, Field::Bytes(b)) => s = text(b)?,
                        _ => {}
                    }
                }
                out.insert(name, if ty == 1 { json!(s) } else { json!(int) });
            }
            (Kind::Time, Field::Bytes(b)) => {
                let mut r = Reader { buf: b, pos: 0 };
                let mut secs = 0i64;
                while let Some((f, fv)) = r.next()? {
                    if let (1, Field::Varint(v)) = (f, fv) {
                        secs = v as i64;
                    }
                }
                if let Ok(t) = jiff::Timestamp::from_second(secs) {
                    out.insert(name, json!(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Decode a protobuf request body into a JSON object. Kinds without a decoder get 415.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("missing the k8s\\0 envelope prefix"))?;
    let mut r = Reader { buf: rest, pos: 0 };
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    while let Some((f, v)) = r.next()? {
        match (f, v) {
            (1, Field::Bytes(tm)) => {
                let mut t = Reader { buf: tm, pos: 0 };
                while let Some((tf, tv)) = t.next()? {
                    match (tf, tv) {
                        (1, Field::Bytes(b)) => api_version = text(b)?,
                        (2, Field::Bytes(b)) => kind = text(b)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let fields = message_for(&api_version, &kind).ok_or_else(|| {
        ApiError::unsupported_media_type(
            "application/vnd.kubernetes.protobuf",
            &format!(
                "application/json, application/yaml (protobuf bodies are decoded only for the kinds kubectl's typed clients create, not {kind} {api_version})"
            ),
        )
    })?;
    let mut obj = decode_message(raw, fields)?;
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn configmap_envelope() -> Result<(), ApiError> {
        let meta = [field(1, b"c"), field(3, b"demo")].concat();
        let entry = [field(1, b"a"), field(2, b"b")].concat();
        let cm = [field(1, &meta), field(2, &entry)].concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &cm)].concat();
        let v = decode(&body)?;
        assert_eq!(
            v,
            json!({"metadata": {"name": "c", "namespace": "demo"}, "data": {"a": "b"},
                   "apiVersion": "v1", "kind": "ConfigMap"})
        );
        Ok(())
    }

    #[test]
    fn garbage_is_bad_request() {
        assert_eq!(decode(b"nope").map_err(|e| e.code), Err(400));
        assert_eq!(decode(b"k8s\0\x0a\xff").map_err(|e| e.code), Err(400));
    }
}
