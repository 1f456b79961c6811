//! `--feature-gates=Name=true,Other=false`, as Flux's controllers parse it: every name
//! must be a gate one of the controllers knows, every value a boolean.

use std::collections::BTreeMap;

/// Gates that change behaviour in fluxd today.
pub const STRICT_POST_BUILD_SUBSTITUTIONS: &str = "StrictPostBuildSubstitutions";

/// Gates Flux's source-, kustomize- and helm-controllers accept. fluxd accepts all of
/// them (a Deployment written for Flux keeps working); only those listed in
/// [`EFFECTIVE`] change anything.
pub const KNOWN: &[&str] = &[
    // kustomize-controller
    "AdditiveCELDependencyCheck",
    "CacheSecretsAndConfigMaps",
    "CancelHealthCheckOnNewRevision",
    "DisableConfigWatchers",
    "DisableFailFastBehavior",
    "DisableStatusPollerCache",
    "ExternalArtifact",
    "GroupChangeLog",
    "ObjectLevelWorkloadIdentity",
    STRICT_POST_BUILD_SUBSTITUTIONS,
    // source-controller
    "OptimizedGitClones",
    "ForceGoGitImplementation",
    // helm-controller
    "AdoptLegacyReleases",
    "AllowDNSLookups",
    "CorrectDrift",
    "DetectDrift",
    "DisableChartDigestTracking",
    "OOMWatch",
];

/// Gates with an effect in fluxd.
pub const EFFECTIVE: &[&str] = &[STRICT_POST_BUILD_SUBSTITUTIONS];

/// Why `--feature-gates` is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureGateError {
    /// An entry without `=`.
    #[error("--feature-gates: entry {entry:?} is not Name=true|false")]
    Malformed { entry: String },
    /// A value that is not a boolean.
    #[error("--feature-gates: {name}={value:?}: the value must be true or false")]
    NotBoolean { name: String, value: String },
    /// A gate no controller knows.
    #[error("--feature-gates: feature gate {name:?} is not supported")]
    Unknown { name: String },
}

/// The parsed gates (only those given on the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureGates(BTreeMap<String, bool>);

impl FeatureGates {
    /// Parses the flag value (empty = no gates).
    pub fn parse(value: &str) -> Result<Self, FeatureGateError> {
        let mut gates = BTreeMap::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((name, raw)) = entry.split_once('=') else {
                return Err(FeatureGateError::Malformed {
                    entry: entry.to_string(),
                });
            };
            let name = name.trim();
            if !KNOWN.contains(&name) {
                return Err(FeatureGateError::Unknown {
                    name: name.to_string(),
                });
            }
            // Go's strconv.ParseBool forms.
            let enabled = match raw.trim() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                other => {
                    return Err(FeatureGateError::NotBoolean {
                        name: name.to_string(),
                        value: other.to_string(),
                    });
                }
            };
            gates.insert(name.to_string(), enabled);
        }
        Ok(Self(gates))
    }

    /// Whether `name` was set to true.
    pub fn enabled(&self, name: &str) -> bool {
        self.0.get(name).copied().unwrap_or(false)
    }

    /// Gates given that fluxd accepts but ignores.
    pub fn without_effect(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(|n| !EFFECTIVE.contains(n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flux_gates() {
        let g = FeatureGates::parse("StrictPostBuildSubstitutions=true, GroupChangeLog=false")
            .expect("valid");
        assert!(g.enabled(STRICT_POST_BUILD_SUBSTITUTIONS));
        assert!(!g.enabled("GroupChangeLog"));
        assert_eq!(g.without_effect(), vec!["GroupChangeLog"]);
        assert_eq!(
            FeatureGates::parse("").expect("empty"),
            FeatureGates::default()
        );
    }

    #[test]
    fn rejects_bad_entries() {
        assert_eq!(
            FeatureGates::parse("Nope=true"),
            Err(FeatureGateError::Unknown {
                name: "Nope".into()
            })
        );
        assert_eq!(
            FeatureGates::parse("StrictPostBuildSubstitutions"),
            Err(FeatureGateError::Malformed {
                entry: "StrictPostBuildSubstitutions".into()
            })
        );
        assert_eq!(
            FeatureGates::parse("StrictPostBuildSubstitutions=yes"),
            Err(FeatureGateError::NotBoolean {
                name: "StrictPostBuildSubstitutions".into(),
                value: "yes".into()
            })
        );
    }
}
